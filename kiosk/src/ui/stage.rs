//! Who is on the meeting screen and in what order, decided without GTK: everyone in the
//! meeting, the officer responsible leading (the first officer the broker named: it names
//! the responsible one when the call starts or resumes, and the next one when they leave),
//! then the others as they joined.

use crate::status::Status;
use crate::visit::Phase;
use nara_protocol::{StaffId, StaffRoleKind};

/// One remote person's picture and caption.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    pub staff: StaffId,
    pub name: String,
    /// An officer's agency; none for an interpreter.
    pub agency: Option<String>,
    pub interpreter: bool,
    /// The language an interpreter interprets, as the broker said.
    pub interprets: Option<String>,
    pub leads: bool,
}

/// The meeting's people in the order the screen shows them.
pub fn tiles(status: &Status) -> Vec<Tile> {
    let Phase::InCall { participants, .. } = &status.visit else {
        return Vec::new();
    };
    let mut tiles: Vec<Tile> = participants
        .iter()
        .map(|p| Tile {
            staff: p.staff.clone(),
            name: p.display_name.to_string(),
            agency: p.agency_name.as_ref().map(|a| a.to_string()),
            interpreter: p.role == StaffRoleKind::Interpreter,
            interprets: p.interprets.as_ref().map(|l| l.to_string()),
            leads: false,
        })
        .collect();
    if let Some(lead) = tiles.iter().position(|t| !t.interpreter) {
        let lead = tiles.remove(lead);
        tiles.insert(
            0,
            Tile {
                leads: true,
                ..lead
            },
        );
    }
    tiles
}

/// How long someone joining or leaving is shown on the screen.
pub const ANNOUNCED_FOR_MS: u64 = 6_000;

/// Someone joined or left the meeting, shown on the screen for a while.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    pub name: String,
    pub joined: bool,
    pub since: u64,
}

/// Notices who joins and leaves a meeting, for the screen to say so. The first person in a
/// meeting is not announced: the meeting screen itself shows that they came.
#[derive(Clone, Debug, Default)]
pub struct Comings {
    met: Vec<(StaffId, String)>,
    pub announcement: Option<Announcement>,
}

impl Comings {
    pub fn update(&mut self, status: &Status, now: u64) {
        let Phase::InCall { participants, .. } = &status.visit else {
            *self = Comings::default();
            return;
        };
        let here: Vec<(StaffId, String)> = participants
            .iter()
            .map(|p| (p.staff.clone(), p.display_name.to_string()))
            .collect();
        if !self.met.is_empty() {
            let came = here
                .iter()
                .filter(|(id, _)| !self.met.iter().any(|(m, _)| m == id));
            let went = self
                .met
                .iter()
                .filter(|(id, _)| !here.iter().any(|(h, _)| h == id));
            let news = came
                .map(|(_, name)| (name, true))
                .chain(went.map(|(_, name)| (name, false)));
            for (name, joined) in news {
                self.announcement = Some(Announcement {
                    name: name.clone(),
                    joined,
                    since: now,
                });
            }
        }
        self.met = here;
        if self
            .announcement
            .as_ref()
            .is_some_and(|a| now.saturating_sub(a.since) >= ANNOUNCED_FOR_MS)
        {
            self.announcement = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nara_protocol::{AgencyId, CallId, ShortText, StaffCard, VisitId};

    fn card(staff: &str, name: &str, agency: Option<&str>) -> StaffCard {
        StaffCard {
            staff: StaffId::new(staff).unwrap(),
            display_name: ShortText::new(name).unwrap(),
            role: match agency {
                Some(_) => StaffRoleKind::Officer,
                None => StaffRoleKind::Interpreter,
            },
            agency: agency.map(|a| AgencyId::new(a.to_lowercase()).unwrap()),
            agency_name: agency.map(|a| ShortText::new(a).unwrap()),
            interprets: None,
        }
    }

    fn meeting(participants: Vec<StaffCard>) -> Status {
        Status::connected_in(Phase::InCall {
            visit: VisitId::new("v1").unwrap(),
            call: CallId::new("c1").unwrap(),
            participants,
        })
    }

    fn order(status: &Status) -> Vec<(String, bool)> {
        tiles(status)
            .into_iter()
            .map(|t| (t.name, t.leads))
            .collect()
    }

    #[test]
    fn the_officer_leads_and_the_others_follow_as_they_joined() {
        let status = meeting(vec![
            card("anna", "Anna Lind", Some("Skatteverket")),
            card("selam", "Selam Haile", None),
            card("omar", "Omar Hassan", Some("CSN")),
        ]);
        assert_eq!(
            order(&status),
            [
                ("Anna Lind".to_string(), true),
                ("Selam Haile".to_string(), false),
                ("Omar Hassan".to_string(), false)
            ]
        );
        let tiles = tiles(&status);
        assert!(tiles[1].interpreter && tiles[1].agency.is_none());
        assert_eq!(tiles[2].agency.as_deref(), Some("CSN"));
    }

    #[test]
    fn when_the_officer_leaves_the_next_officer_leads_not_the_interpreter() {
        let status = meeting(vec![
            card("selam", "Selam Haile", None),
            card("omar", "Omar Hassan", Some("CSN")),
        ]);
        assert_eq!(
            order(&status),
            [
                ("Omar Hassan".to_string(), true),
                ("Selam Haile".to_string(), false)
            ]
        );
    }

    #[test]
    fn who_joins_and_leaves_is_said_for_a_while_but_not_the_first_officer() {
        let mut comings = Comings::default();
        let anna = card("anna", "Anna Lind", Some("Skatteverket"));
        let selam = card("selam", "Selam Haile", None);
        comings.update(&meeting(vec![anna.clone()]), 0);
        assert_eq!(comings.announcement, None);
        comings.update(&meeting(vec![anna.clone(), selam]), 1_000);
        let joined = Announcement {
            name: "Selam Haile".into(),
            joined: true,
            since: 1_000,
        };
        assert_eq!(comings.announcement, Some(joined.clone()));
        comings.update(&meeting(vec![anna.clone()]), 3_000);
        let left = Announcement {
            joined: false,
            since: 3_000,
            ..joined
        };
        assert_eq!(comings.announcement, Some(left));
        comings.update(&meeting(vec![anna]), 3_000 + ANNOUNCED_FOR_MS);
        assert_eq!(comings.announcement, None);
        comings.update(&Status::connected_in(Phase::Idle), 20_000);
        assert_eq!(comings.announcement, None);
    }

    #[test]
    fn nobody_is_on_stage_outside_a_meeting() {
        assert!(tiles(&Status::connected_in(Phase::Idle)).is_empty());
    }
}
