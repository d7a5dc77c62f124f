//! Why the broker refused what the citizen asked for, said in their language: the words for
//! each code (no sentence from the broker reaches the screen), and the screen that shows them.
//! Opening hours are written here too, as the agency screen and a closed agency's refusal
//! both show them.

use super::i18n::{Arg, Language, Texts};
use super::model::Input;
use super::screens::Draw;
use gtk::prelude::*;
use gtk4 as gtk;
use nara_protocol::kiosk::AgencyChoice;
use nara_protocol::{hours, ErrorCode, OpeningHours};

/// The message for a refusal with `code`, for the agency asked for if there was one.
pub fn refusal_text(
    texts: &Texts,
    language: Language,
    code: ErrorCode,
    agency: Option<&AgencyChoice>,
) -> String {
    let name = || Arg::from(agency.map_or(String::new(), |a| a.name.to_string()));
    match (code, agency) {
        (ErrorCode::AgencyClosed, Some(a)) => texts.get(
            language,
            "refused-agency-closed",
            &[
                ("agency", name()),
                ("hours", Arg::from(hours_text(texts, language, &a.hours))),
            ],
        ),
        (ErrorCode::LanguageNotServed, Some(_)) => texts.get(
            language,
            "refused-language-not-served",
            &[("agency", name())],
        ),
        (ErrorCode::AgencyClosed | ErrorCode::LanguageNotServed, None)
        | (ErrorCode::AgencyUnknown, _) => texts.get(language, "refused-agency-unknown", &[]),
        (ErrorCode::OutOfService, _) => texts.get(language, "refused-out-of-service", &[]),
        (ErrorCode::BookingUnknown, _) => texts.get(language, "refused-booking-unknown", &[]),
        (ErrorCode::BookingTooEarly, _) => texts.get(language, "refused-booking-too-early", &[]),
        (ErrorCode::BookingTooLate, _) => texts.get(language, "refused-booking-too-late", &[]),
        (ErrorCode::BookingUsed, _) => texts.get(language, "refused-booking-used", &[]),
        (ErrorCode::VisitInProgress, _) => texts.get(language, "refused-busy", &[]),
        _ => texts.get(language, "refused-try-again", &[]),
    }
}

/// Opening hours as the citizen reads them: "mån–fre 09:00–16:00".
pub fn hours_text(texts: &Texts, language: Language, opening: &OpeningHours) -> String {
    let weekdays: Vec<String> = texts
        .get(language, "weekdays", &[])
        .split(',')
        .map(|d| d.trim().to_string())
        .collect();
    let names: [&str; 7] = std::array::from_fn(|d| weekdays.get(d).map_or("", String::as_str));
    let time = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
    opening
        .spans()
        .iter()
        .map(|s| {
            format!(
                "{} {}–{}",
                hours::day_ranges(&s.days, &names),
                time(s.opens),
                time(s.closes)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Draw<'_> {
    pub(super) fn refused(
        &self,
        code: ErrorCode,
        agency: Option<&nara_protocol::AgencyId>,
    ) -> gtk::Widget {
        let agency = agency.and_then(|id| self.status.agencies.iter().find(|a| a.agency == *id));
        let column = self.column();
        column.add_css_class("alert");
        column.append(&self.label(&self.t("refused-title"), "title"));
        let body = refusal_text(self.texts, self.language, code, agency);
        column.append(&self.label(&body, "body"));
        column.append(&self.row(&[self.action(
            "refused-back",
            "go-previous-symbolic",
            Input::DismissRefusal,
            "primary",
        )]));
        column.upcast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agency(hours: &str) -> AgencyChoice {
        AgencyChoice {
            agency: nara_protocol::AgencyId::new("skatteverket").unwrap(),
            name: nara_protocol::ShortText::new("Skatteverket").unwrap(),
            open_now: false,
            hours: OpeningHours::new(hours).unwrap(),
            languages: Vec::new(),
        }
    }

    /// Every refusal a citizen can meet, in each of the six languages, in that language's
    /// own words: never the broker's English, never a Swedish fallback, never a message id.
    #[test]
    fn each_refusal_a_citizen_can_meet_is_said_in_their_language() {
        let texts = Texts::load();
        let skatteverket = agency("mon-fri 09:00-16:00");
        let codes = [
            (ErrorCode::AgencyClosed, Some(&skatteverket)),
            (ErrorCode::LanguageNotServed, Some(&skatteverket)),
            (ErrorCode::AgencyUnknown, None),
            (ErrorCode::OutOfService, None),
            (ErrorCode::BookingUnknown, None),
            (ErrorCode::BookingTooEarly, None),
            (ErrorCode::BookingTooLate, None),
            (ErrorCode::BookingUsed, None),
            (ErrorCode::VisitInProgress, None),
            (ErrorCode::Internal, None),
        ];
        for (code, agency) in codes {
            let swedish = refusal_text(&texts, Language::Swedish, code, agency);
            assert!(
                !swedish.starts_with("refused-"),
                "{code:?} has no Swedish text"
            );
            let mut seen = vec![swedish];
            for language in Language::ALL.into_iter().skip(1) {
                let text = refusal_text(&texts, language, code, agency);
                assert!(
                    !seen.contains(&text),
                    "{code:?} in {language} repeats another language: {text}"
                );
                if agency.is_some() {
                    assert!(
                        text.contains("Skatteverket"),
                        "{code:?} in {language}: {text}"
                    );
                }
                seen.push(text);
            }
        }
        // Each code has words of its own.
        let mut bodies: Vec<String> = codes
            .iter()
            .map(|(code, agency)| refusal_text(&texts, Language::English, *code, *agency))
            .collect();
        bodies.dedup();
        assert_eq!(bodies.len(), codes.len(), "{bodies:#?}");
    }

    #[test]
    fn a_closed_agency_says_when_it_opens_with_the_citizens_weekday_names() {
        let texts = Texts::load();
        let closed = agency("mon-fri 09:00-16:00");
        let swedish = refusal_text(
            &texts,
            Language::Swedish,
            ErrorCode::AgencyClosed,
            Some(&closed),
        );
        assert_eq!(
            swedish,
            "Skatteverket har stängt just nu. Öppet mån–fre 09:00–16:00."
        );
        let english = refusal_text(
            &texts,
            Language::English,
            ErrorCode::AgencyClosed,
            Some(&closed),
        );
        assert!(english.contains("09:00–16:00"), "{english}");
        assert_ne!(english, swedish);
    }
}
