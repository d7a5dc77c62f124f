//! A scanned picture and what becomes of it before it leaves the kiosk: cut to the paper (the
//! scanner's bed is larger than most papers put on it), then compressed to a JPEG that crosses
//! a slow office link quickly while text stays readable.

use nara_protocol::peer::{PageManifest, PageMediaType};
pub use nara_sane::SampleLayout;

/// Eight-bit samples, one or three per pixel, row after row.
#[derive(Clone, PartialEq, Eq)]
pub struct Raster {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub samples: Vec<u8>,
}

impl std::fmt::Debug for Raster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Raster({}×{}×{})",
            self.width, self.height, self.channels
        )
    }
}

/// A page as it is sent: a JPEG.
#[derive(Clone, PartialEq, Eq)]
pub struct Page {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl Page {
    /// What the desk is told of the page before its bytes: size, SHA-256, kind, dimensions.
    pub fn manifest(&self) -> PageManifest {
        PageManifest::describe(&self.jpeg, PageMediaType::Jpeg, self.width, self.height)
    }
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Page({}×{}, {} bytes)",
            self.width,
            self.height,
            self.jpeg.len()
        )
    }
}

/// How far a margin's pixels may stray from the bed's colour and still count as bed.
const BED_TOLERANCE: i32 = 24;
/// A margin row or column with more stray pixels than this share holds paper.
const BED_STRAY_SHARE: f64 = 0.01;
/// JPEG quality: 300-dpi text stays sharp at 70 with 4:2:0 colour.
const JPEG_QUALITY: u8 = 70;
/// A page larger than this at [`JPEG_QUALITY`] (a photograph, colour print all over) is
/// compressed again at [`BUSY_PAGE_QUALITY`]: at 20 Mbit/s it then crosses in about a second,
/// and text at 300 dpi is still readable.
const BUSY_PAGE_BYTES: usize = 2_000_000;
const BUSY_PAGE_QUALITY: u8 = 50;

impl Raster {
    /// Converts what SANE read into eight-bit samples.
    pub fn from_samples(layout: SampleLayout, data: &[u8]) -> Result<Raster, String> {
        let SampleLayout {
            channels,
            depth,
            pixels_per_line: width,
            bytes_per_line,
        } = layout;
        let needed = match depth {
            1 => (width * channels).div_ceil(8),
            8 => width * channels,
            16 => width * channels * 2,
            other => return Err(format!("the scanner sends {other}-bit samples")),
        };
        if width == 0 || bytes_per_line < needed {
            return Err(format!(
                "the scanner describes lines of {width} pixels in {bytes_per_line} bytes"
            ));
        }
        let height = data.len() / bytes_per_line;
        let mut samples = Vec::with_capacity(width * channels * height);
        for line in data.chunks_exact(bytes_per_line) {
            let line = &line[..needed];
            match depth {
                8 => samples.extend_from_slice(line),
                // SANE sends 16-bit samples in the machine's byte order.
                16 => samples.extend(
                    line.chunks_exact(2)
                        .map(|pair| (u16::from_ne_bytes([pair[0], pair[1]]) >> 8) as u8),
                ),
                _ => samples.extend((0..width * channels).map(|i| {
                    let black = line[i / 8] & (0x80 >> (i % 8)) != 0;
                    if black {
                        0
                    } else {
                        255
                    }
                })),
            }
        }
        if height == 0 {
            return Err("the scanner sent no picture".into());
        }
        Ok(Raster {
            width,
            height,
            channels,
            samples,
        })
    }

    fn pixel(&self, x: usize, y: usize) -> &[u8] {
        let start = (y * self.width + x) * self.channels;
        &self.samples[start..start + self.channels]
    }

    fn differs(&self, pixel: &[u8], bed: &[u8]) -> bool {
        pixel
            .iter()
            .zip(bed)
            .any(|(a, b)| (i32::from(*a) - i32::from(*b)).abs() > BED_TOLERANCE)
    }

    fn holds_paper(&self, pixels: impl Iterator<Item = (usize, usize)>, bed: &[u8]) -> bool {
        let mut count = 0usize;
        let mut stray = 0usize;
        for (x, y) in pixels {
            count += 1;
            if self.differs(self.pixel(x, y), bed) {
                stray += 1;
            }
        }
        stray as f64 > count as f64 * BED_STRAY_SHARE
    }

    /// Cut to the paper: margins the colour of the bed (that of the top-left corner) go. A
    /// picture that is all bed is kept whole, so the citizen sees that nothing was on it.
    pub fn cropped_to_paper(&self) -> Raster {
        let bed = self.pixel(0, 0).to_vec();
        let (mut top, mut bottom) = (0, self.height);
        let (mut left, mut right) = (0, self.width);
        while top < bottom && !self.holds_paper((left..right).map(|x| (x, top)), &bed) {
            top += 1;
        }
        while bottom > top && !self.holds_paper((left..right).map(|x| (x, bottom - 1)), &bed) {
            bottom -= 1;
        }
        while left < right && !self.holds_paper((top..bottom).map(|y| (left, y)), &bed) {
            left += 1;
        }
        while right > left && !self.holds_paper((top..bottom).map(|y| (right - 1, y)), &bed) {
            right -= 1;
        }
        if top >= bottom || left >= right {
            return self.clone();
        }
        let width = right - left;
        let mut samples = Vec::with_capacity(width * (bottom - top) * self.channels);
        for y in top..bottom {
            let start = (y * self.width + left) * self.channels;
            samples.extend_from_slice(&self.samples[start..start + width * self.channels]);
        }
        Raster {
            width,
            height: bottom - top,
            channels: self.channels,
            samples,
        }
    }

    /// The page as it is sent.
    pub fn to_page(&self) -> Result<Page, String> {
        let (width, height) = (
            u16::try_from(self.width).map_err(|_| "the picture is too wide for JPEG")?,
            u16::try_from(self.height).map_err(|_| "the picture is too tall for JPEG")?,
        );
        let colour = if self.channels == 3 {
            jpeg_encoder::ColorType::Rgb
        } else {
            jpeg_encoder::ColorType::Luma
        };
        let encode = |quality| {
            let mut jpeg = Vec::new();
            jpeg_encoder::Encoder::new(&mut jpeg, quality)
                .encode(&self.samples, width, height, colour)
                .map(|()| jpeg)
                .map_err(|e| format!("cannot compress the page: {e}"))
        };
        let mut jpeg = encode(JPEG_QUALITY)?;
        if jpeg.len() > BUSY_PAGE_BYTES {
            jpeg = encode(BUSY_PAGE_QUALITY)?;
        }
        Ok(Page {
            jpeg,
            width: u32::from(width),
            height: u32::from(height),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white bed with a grey paper of `paper` pixels at (`x`, `y`).
    fn bed_with_paper(width: usize, height: usize, paper: (usize, usize, usize, usize)) -> Raster {
        let (px, py, pw, ph) = paper;
        let mut samples = vec![255u8; width * height];
        for y in py..py + ph {
            for x in px..px + pw {
                samples[y * width + x] = if (x + y) % 7 == 0 { 20 } else { 200 };
            }
        }
        Raster {
            width,
            height,
            channels: 1,
            samples,
        }
    }

    #[test]
    fn margins_of_bed_are_cut_away() {
        let scan = bed_with_paper(100, 80, (10, 5, 60, 50));
        let page = scan.cropped_to_paper();
        assert_eq!((page.width, page.height), (60, 50));
        assert_eq!(
            page.samples[0],
            scan.samples[5 * 100 + 10],
            "starts at the paper's corner"
        );
    }

    #[test]
    fn dust_on_the_bed_is_not_paper() {
        let mut scan = bed_with_paper(100, 80, (10, 5, 60, 50));
        scan.samples[79 * 100 + 99] = 0; // one dark speck in the far corner
        let page = scan.cropped_to_paper();
        assert_eq!((page.width, page.height), (60, 50));
    }

    #[test]
    fn an_empty_bed_is_kept_whole() {
        let scan = bed_with_paper(40, 30, (0, 0, 0, 0));
        assert_eq!(scan.cropped_to_paper(), scan);
    }

    #[test]
    fn sixteen_and_one_bit_samples_become_eight() {
        let layout = SampleLayout {
            channels: 1,
            depth: 16,
            pixels_per_line: 2,
            bytes_per_line: 4,
        };
        let mut data = Vec::new();
        data.extend_from_slice(&0xff00u16.to_ne_bytes());
        data.extend_from_slice(&0x1234u16.to_ne_bytes());
        let raster = Raster::from_samples(layout, &data).unwrap();
        assert_eq!(raster.samples, [0xff, 0x12]);

        let line_art = SampleLayout {
            channels: 1,
            depth: 1,
            pixels_per_line: 10,
            bytes_per_line: 3, // one byte of padding
        };
        let raster = Raster::from_samples(line_art, &[0b1010_0000, 0b0100_0000, 0xee]).unwrap();
        assert_eq!(raster.samples, [0, 255, 0, 255, 255, 255, 255, 255, 255, 0]);
    }

    #[test]
    fn a_layout_that_cannot_hold_its_pixels_is_refused() {
        let layout = SampleLayout {
            channels: 3,
            depth: 8,
            pixels_per_line: 10,
            bytes_per_line: 20,
        };
        let error = Raster::from_samples(layout, &[0; 40]).unwrap_err();
        assert!(error.contains("10 pixels in 20 bytes"), "{error}");
        let layout = SampleLayout { depth: 4, ..layout };
        assert!(Raster::from_samples(layout, &[0; 40]).is_err());
    }

    #[test]
    fn a_page_is_a_jpeg_and_its_manifest_carries_its_hash() {
        let page = bed_with_paper(64, 48, (8, 8, 40, 30)).to_page().unwrap();
        assert_eq!(
            &page.jpeg[..3],
            &[0xff, 0xd8, 0xff],
            "JPEG's start of image"
        );
        assert_eq!((page.width, page.height), (64, 48));
        let manifest = page.manifest();
        assert_eq!(manifest.sha256, nara_protocol::Sha256Hex::of(&page.jpeg));
        assert_eq!(manifest.bytes as usize, page.jpeg.len());
        assert_eq!((manifest.width_px, manifest.height_px), (64, 48));
    }
}
