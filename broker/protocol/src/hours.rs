//! Opening hours as one short, readable string, e.g. `mon-thu 08:00-16:30; fri 08:00-15:00`:
//! rules separated by `;`, each a set of days (`mon-fri`, `sat,sun`, `daily`) and a span of
//! local time (`24:00` ends a day). `closed` means never open. Kiosks show it in the citizen's
//! language; the broker decides what is open now in its configured time zone.

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAYS_SV: [&str; 7] = ["mån", "tis", "ons", "tors", "fre", "lör", "sön"];

/// One rule: open on `days` (Monday first) from `opens` until `closes`, minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpeningSpan {
    pub days: [bool; 7],
    pub opens: u16,
    pub closes: u16,
}

/// Parses the whole string, or says which part is wrong and how it should look.
pub fn parse_hours(spec: &str) -> Result<Vec<OpeningSpan>, String> {
    let spec = spec.trim();
    if spec.eq_ignore_ascii_case("closed") {
        return Ok(Vec::new());
    }
    spec.split(';')
        .map(|rule| {
            parse_rule(rule.trim()).map_err(|why| {
                format!(
                    "opening hours {rule:?}: {why} (write e.g. \"mon-fri 09:00-16:00; sat 10:00-14:00\")"
                )
            })
        })
        .collect()
}

fn parse_rule(rule: &str) -> Result<OpeningSpan, String> {
    let (days, times) = rule
        .split_once(' ')
        .ok_or("expected days, a space, then a time span")?;
    let (opens, closes) = times
        .trim()
        .split_once('-')
        .ok_or("the time span needs a dash, as 09:00-16:00")?;
    let span = OpeningSpan {
        days: parse_days(days)?,
        opens: parse_time(opens)?,
        closes: parse_time(closes)?,
    };
    if span.closes <= span.opens {
        return Err("closing time must be after opening time".into());
    }
    Ok(span)
}

fn day_index(name: &str) -> Result<usize, String> {
    DAYS.iter()
        .position(|d| d.eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("unknown day {name:?}; use mon, tue, wed, thu, fri, sat, sun"))
}

fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    if text.eq_ignore_ascii_case("daily") {
        return Ok([true; 7]);
    }
    for part in text.split(',') {
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (day_index(first)?, day_index(last)?);
                if last < first {
                    return Err(format!(
                        "{part:?} runs backwards; write the week Monday first"
                    ));
                }
                days[first..=last].iter_mut().for_each(|d| *d = true);
            }
            None => days[day_index(part)?] = true,
        }
    }
    Ok(days)
}

fn parse_time(text: &str) -> Result<u16, String> {
    let bad = || format!("{text:?} is not a time like 09:00");
    let (hours, minutes) = text.split_once(':').ok_or_else(bad)?;
    if hours.len() != 2 || minutes.len() != 2 {
        return Err(bad());
    }
    let hours: u16 = hours.parse().map_err(|_| bad())?;
    let minutes: u16 = minutes.parse().map_err(|_| bad())?;
    if minutes >= 60 || hours > 24 || (hours == 24 && minutes > 0) {
        return Err(bad());
    }
    Ok(hours * 60 + minutes)
}

/// Whether `spans` are open on `weekday` (0 = Monday) at `minute` after local midnight.
pub fn open_at(spans: &[OpeningSpan], weekday: usize, minute: u16) -> bool {
    spans
        .iter()
        .any(|s| s.days.get(weekday) == Some(&true) && s.opens <= minute && minute < s.closes)
}

/// The hours in Swedish, as on a sign: "mån–tors 08.00–16.30, fre 08.00–15.00".
pub fn swedish(spans: &[OpeningSpan]) -> String {
    if spans.is_empty() {
        return "stängt".into();
    }
    let time = |m: u16| format!("{:02}.{:02}", m / 60, m % 60);
    spans
        .iter()
        .map(|s| {
            format!(
                "{} {}–{}",
                day_ranges(&s.days, &DAYS_SV),
                time(s.opens),
                time(s.closes)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Days as ranges of consecutive days, e.g. "mån–ons, fre".
pub fn day_ranges(days: &[bool; 7], names: &[&str; 7]) -> String {
    if days.iter().all(|d| *d) {
        return format!("{}–{}", names[0], names[6]);
    }
    let mut parts = Vec::new();
    let mut day = 0;
    while day < 7 {
        if !days[day] {
            day += 1;
            continue;
        }
        let start = day;
        while day + 1 < 7 && days[day + 1] {
            day += 1;
        }
        parts.push(if start == day {
            names[start].to_string()
        } else {
            format!("{}–{}", names[start], names[day])
        });
        day += 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_answer_open_or_closed() {
        let spans = parse_hours("mon-thu 08:00-16:30; fri 08:00-15:00").unwrap();
        assert!(open_at(&spans, 0, 8 * 60));
        assert!(!open_at(&spans, 0, 16 * 60 + 30));
        assert!(open_at(&spans, 4, 14 * 60 + 59));
        assert!(!open_at(&spans, 4, 15 * 60));
        assert!(!open_at(&spans, 5, 12 * 60));
        assert_eq!(swedish(&spans), "mån–tors 08.00–16.30, fre 08.00–15.00");
        let always = parse_hours("daily 00:00-24:00").unwrap();
        assert!(open_at(&always, 6, 23 * 60 + 59));
        assert_eq!(swedish(&always), "mån–sön 00.00–24.00");
        assert_eq!(
            swedish(&parse_hours("mon,wed-thu,sat 10:00-12:00").unwrap()),
            "mån, ons–tors, lör 10.00–12.00"
        );
        assert!(parse_hours("closed").unwrap().is_empty());
    }

    #[test]
    fn mistakes_are_named() {
        for (spec, says) in [
            ("mon-fri", "expected days"),
            ("mon-fri 9-16", "not a time"),
            ("mån-fre 09:00-16:00", "unknown day"),
            ("fri-mon 09:00-16:00", "backwards"),
            ("mon 16:00-09:00", "after opening"),
            ("mon 09:00-24:30", "not a time"),
        ] {
            let err = parse_hours(spec).unwrap_err();
            assert!(err.contains(says), "{spec}: {err}");
        }
    }
}
