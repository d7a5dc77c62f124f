#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nara_fuzz_checks::page_frames(data));
