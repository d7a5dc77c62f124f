//! The kiosk's words in its six languages, from Fluent files in `kiosk/locales/` built into
//! the binary. Swedish is the fallback for any message a language lacks (a test sees that none
//! does). Arabic and Dari are written right to left.

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};
use std::collections::HashMap;
use std::fmt;

/// The languages the kiosk speaks, in the order the language screen shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    Swedish,
    English,
    Arabic,
    Dari,
    Somali,
    Tigrinya,
}

impl Language {
    pub const ALL: [Language; 6] = [
        Language::Swedish,
        Language::English,
        Language::Arabic,
        Language::Dari,
        Language::Somali,
        Language::Tigrinya,
    ];

    /// The ISO 639 code the broker's queues use.
    pub fn code(self) -> &'static str {
        match self {
            Language::Swedish => "sv",
            Language::English => "en",
            Language::Arabic => "ar",
            Language::Dari => "prs",
            Language::Somali => "so",
            Language::Tigrinya => "ti",
        }
    }

    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == code)
    }

    pub fn right_to_left(self) -> bool {
        matches!(self, Language::Arabic | Language::Dari)
    }

    fn source(self) -> &'static str {
        match self {
            Language::Swedish => include_str!("../../locales/sv/kiosk.ftl"),
            Language::English => include_str!("../../locales/en/kiosk.ftl"),
            Language::Arabic => include_str!("../../locales/ar/kiosk.ftl"),
            Language::Dari => include_str!("../../locales/prs/kiosk.ftl"),
            Language::Somali => include_str!("../../locales/so/kiosk.ftl"),
            Language::Tigrinya => include_str!("../../locales/ti/kiosk.ftl"),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One bundle per language, parsed once at start.
pub struct Texts {
    bundles: HashMap<Language, FluentBundle<FluentResource>>,
}

impl fmt::Debug for Texts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Texts").finish_non_exhaustive()
    }
}

impl Texts {
    /// Parses the built-in files; a file that does not parse is a build mistake the tests
    /// catch, so this panics with the file and the error.
    pub fn load() -> Texts {
        let mut bundles = HashMap::new();
        for language in Language::ALL {
            let resource = FluentResource::try_new(language.source().to_string())
                .unwrap_or_else(|(_, errors)| panic!("locales/{language}/kiosk.ftl: {errors:?}"));
            let id = language.code().parse().expect("valid language ids");
            let mut bundle = FluentBundle::new(vec![id]);
            // Isolation marks (U+2068/U+2069) keep a Latin name inside Arabic text in order;
            // GTK's Pango honours them.
            bundle.set_use_isolating(language.right_to_left());
            bundle
                .add_resource(resource)
                .unwrap_or_else(|errors| panic!("locales/{language}/kiosk.ftl: {errors:?}"));
            bundles.insert(language, bundle);
        }
        Texts { bundles }
    }

    /// The message `id` in `language`, with `args` filled in; Swedish when the language lacks
    /// it, the id itself when no language has it.
    pub fn get(&self, language: Language, id: &str, args: &[(&str, Arg)]) -> String {
        self.format(language, id, args)
            .or_else(|| self.format(Language::Swedish, id, args))
            .unwrap_or_else(|| id.to_string())
    }

    fn format(&self, language: Language, id: &str, args: &[(&str, Arg)]) -> Option<String> {
        let bundle = self.bundles.get(&language)?;
        let pattern = bundle.get_message(id)?.value()?;
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Text(text) => fluent_args.set(*name, FluentValue::from(text.clone())),
                Arg::Number(n) => fluent_args.set(*name, FluentValue::from(*n)),
            }
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        if !errors.is_empty() {
            tracing::warn!(%language, id, ?errors, "a message did not format cleanly");
        }
        Some(text.into_owned())
    }

    /// Every message id in `language`'s file.
    pub fn ids(&self, language: Language) -> Vec<String> {
        let resource = FluentResource::try_new(language.source().to_string())
            .unwrap_or_else(|(resource, _)| resource);
        resource
            .entries()
            .filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
                _ => None,
            })
            .collect()
    }
}

/// A value for a `{ $name }` in a message.
#[derive(Clone, Debug)]
pub enum Arg {
    Text(String),
    Number(i64),
}

impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Arg::Text(value.to_string())
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Self {
        Arg::Text(value)
    }
}

impl From<u32> for Arg {
    fn from(value: u32) -> Self {
        Arg::Number(i64::from(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_message_and_no_other() {
        let texts = Texts::load();
        let mut swedish = texts.ids(Language::Swedish);
        swedish.sort();
        assert!(swedish.len() > 50, "{swedish:?}");
        for language in Language::ALL {
            let mut ids = texts.ids(language);
            ids.sort();
            assert_eq!(ids, swedish, "locales/{language}/kiosk.ftl");
        }
    }

    #[test]
    fn every_message_formats_with_its_arguments_in_every_language() {
        let texts = Texts::load();
        let args = [
            ("hours", Arg::from("mån–fre 09:00–16:00")),
            ("position", Arg::from(3u32)),
            ("low", Arg::from(5u32)),
            ("high", Arg::from(10u32)),
            ("name", Arg::from("Anna Lind")),
            ("agency", Arg::from("CSN")),
            ("problem", Arg::from("paper jam")),
            ("language", Arg::from("ትግርኛ")),
        ];
        for language in Language::ALL {
            for id in texts.ids(language) {
                let text = texts.get(language, &id, &args);
                assert!(!text.trim().is_empty(), "{language} {id}");
                assert!(!text.contains('{'), "{language} {id}: {text}");
            }
        }
    }

    #[test]
    fn each_language_is_named_in_itself_and_arabic_and_dari_run_right_to_left() {
        let texts = Texts::load();
        let names: Vec<String> = Language::ALL
            .iter()
            .map(|l| texts.get(*l, "language-name", &[]))
            .collect();
        assert_eq!(
            names,
            ["Svenska", "English", "العربية", "دری", "Soomaali", "ትግርኛ"]
        );
        let rtl: Vec<&str> = Language::ALL
            .iter()
            .filter(|l| l.right_to_left())
            .map(|l| l.code())
            .collect();
        assert_eq!(rtl, ["ar", "prs"]);
    }

    #[test]
    fn a_missing_message_falls_back_to_its_id() {
        let texts = Texts::load();
        assert_eq!(
            texts.get(Language::Somali, "no-such-message", &[]),
            "no-such-message"
        );
    }
}
