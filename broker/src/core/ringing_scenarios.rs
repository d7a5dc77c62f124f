//! Connecting while it rings: the kiosk and a ringing desk may signal to each other on the
//! call the answer would start, and on nothing else; a ring that ends closes what it opened.

use super::scene::*;
use super::*;
use nara_protocol::desk::{InviteTarget, OfferWithdrawnReason};

fn ringing_at_kiosk(out: &[Output], kiosk: &str) -> Vec<(CallId, StaffId)> {
    to_kiosk(out, kiosk)
        .into_iter()
        .filter_map(|m| match m {
            BrokerToKiosk::Ringing { call, staff, .. } => Some((call.clone(), staff.clone())),
            _ => None,
        })
        .collect()
}

fn ring_ended_at_kiosk(out: &[Output], kiosk: &str) -> Vec<(CallId, StaffId)> {
    to_kiosk(out, kiosk)
        .into_iter()
        .filter_map(|m| match m {
            BrokerToKiosk::RingEnded { call, staff } => Some((call.clone(), staff.clone())),
            _ => None,
        })
        .collect()
}

fn offered_call(out: &[Output], staff: &str) -> CallId {
    to_desk(out, staff)
        .into_iter()
        .find_map(|m| match m {
            BrokerToDesk::Offer { call, .. } => Some(call.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no offer to {staff} in {out:#?}"))
}

fn kiosk_signals(s: &mut Scene, call: &CallId, to: &str) -> Vec<Output> {
    s.kiosk(
        "k1",
        KioskToBroker::Signal {
            call: call.clone(),
            to: id(to),
            payload: candidate(),
        },
    )
}

fn desk_signals(s: &mut Scene, staff: &str, call: &CallId) -> Vec<Output> {
    s.desk(
        staff,
        DeskToBroker::Signal {
            call: call.clone(),
            to: Peer::Kiosk { kiosk: id("k1") },
            payload: candidate(),
        },
    )
}

fn relayed_to_desk(out: &[Output], staff: &str) -> bool {
    to_desk(out, staff)
        .iter()
        .any(|m| matches!(m, BrokerToDesk::Signal { .. }))
}

fn relayed_to_kiosk(out: &[Output]) -> bool {
    to_kiosk(out, "k1")
        .iter()
        .any(|m| matches!(m, BrokerToKiosk::Signal { .. }))
}

#[test]
fn the_kiosk_connects_to_a_ringing_desk_and_a_ring_that_times_out_closes_it() {
    let mut s = Scene::new();
    s.connect_kiosk("k1", None);
    let visit = queued_visit(&s.start_visit("k1", "skatteverket", "sv"), "k1");

    // Anna's desk rings: the kiosk hears whom to connect to, on the call the offer names.
    let out = s.officer("anna", "skatteverket", &["sv"]);
    let first = offered_call(&out, "anna");
    assert_eq!(ringing_at_kiosk(&out, "k1"), [(first.clone(), id("anna"))]);
    assert!(to_kiosk(&out, "k1").iter().any(|m| matches!(
        m,
        BrokerToKiosk::Ringing { visit: v, .. } if *v == visit
    )));
    assert!(relayed_to_desk(
        &kiosk_signals(&mut s, &first, "anna"),
        "anna"
    ));
    assert!(relayed_to_kiosk(&desk_signals(&mut s, "anna", &first)));

    // Nobody else may use the ringing call, in either direction.
    s.officer("omar", "skatteverket", &["sv"]);
    let out = desk_signals(&mut s, "omar", &first);
    assert_eq!(refusal_to_desk(&out, "omar").code, ErrorCode::CallGone);
    let out = kiosk_signals(&mut s, &first, "omar");
    assert_eq!(refusal_to_kiosk(&out, "k1").code, ErrorCode::Forbidden);

    // The ring times out: the kiosk closes that connection, and Omar rings on a call of his own.
    let ring = s.core.router().config().ring_timeout_ms;
    let out = s.advance(ring);
    assert_eq!(
        ring_ended_at_kiosk(&out, "k1"),
        [(first.clone(), id("anna"))]
    );
    let second = offered_call(&out, "omar");
    let offer = offer_to(&out, "omar");
    assert_ne!(second, first);
    assert_eq!(ringing_at_kiosk(&out, "k1"), [(second.clone(), id("omar"))]);
    let out = desk_signals(&mut s, "anna", &first);
    assert_eq!(refusal_to_desk(&out, "anna").code, ErrorCode::CallGone);

    // Omar answers: the call that starts is the one the kiosk already connected on.
    let out = s.desk("omar", DeskToBroker::AcceptOffer { offer });
    let (call, officer) = call_started_at_kiosk(&out, "k1");
    assert_eq!((call.clone(), officer.staff.as_str()), (second, "omar"));
    assert!(ring_ended_at_kiosk(&out, "k1").is_empty());
    assert!(relayed_to_kiosk(&desk_signals(&mut s, "omar", &call)));
}

#[test]
fn a_declined_ring_ends_at_the_kiosk_and_an_invitation_rings_there_too() {
    let mut s = Scene::new();
    s.connect_kiosk("k1", None);
    s.start_visit("k1", "skatteverket", "sv");
    let out = s.officer("anna", "skatteverket", &["sv"]);
    let call = offered_call(&out, "anna");
    let offer = offer_to(&out, "anna");
    let out = s.desk("anna", DeskToBroker::DeclineOffer { offer });
    assert!(to_desk(&out, "anna").iter().any(|m| matches!(
        m,
        BrokerToDesk::OfferWithdrawn {
            reason: OfferWithdrawnReason::Declined,
            ..
        }
    )));
    assert_eq!(ring_ended_at_kiosk(&out, "k1"), [(call, id("anna"))]);

    let out = s.officer("omar", "skatteverket", &["sv"]);
    let offer = offer_to(&out, "omar");
    let (call, _) =
        call_started_at_kiosk(&s.desk("omar", DeskToBroker::AcceptOffer { offer }), "k1");

    // Omar invites a colleague: her desk rings for his call, and the kiosk connects to her.
    let out = s.officer("lina", "kronofogden", &["sv"]);
    assert!(ringing_at_kiosk(&out, "k1").is_empty());
    let out = s.desk(
        "omar",
        DeskToBroker::Invite {
            call: call.clone(),
            target: InviteTarget::Officer {
                agency: id("kronofogden"),
            },
        },
    );
    assert_eq!(offered_call(&out, "lina"), call);
    assert_eq!(ringing_at_kiosk(&out, "k1"), [(call.clone(), id("lina"))]);
    // Her desk hears who is in the call, and connects to them as well while it rings.
    let in_call = to_desk(&out, "lina").into_iter().find_map(|m| match m {
        BrokerToDesk::Offer { in_call, .. } => Some(in_call.clone()),
        _ => None,
    });
    assert_eq!(in_call, Some(vec![id("omar")]));
    let out = s.desk(
        "lina",
        DeskToBroker::Signal {
            call: call.clone(),
            to: Peer::Staff { staff: id("omar") },
            payload: candidate(),
        },
    );
    assert!(relayed_to_desk(&out, "omar"));
    let out = s.desk(
        "omar",
        DeskToBroker::Signal {
            call: call.clone(),
            to: Peer::Staff { staff: id("lina") },
            payload: candidate(),
        },
    );
    assert!(relayed_to_desk(&out, "lina"));
    assert!(relayed_to_desk(
        &kiosk_signals(&mut s, &call, "lina"),
        "lina"
    ));
    assert!(relayed_to_kiosk(&desk_signals(&mut s, "lina", &call)));

    // She lets it ring out: the kiosk closes her connection; Omar's call goes on.
    let ring = s.core.router().config().ring_timeout_ms;
    let out = s.advance(ring);
    assert_eq!(
        ring_ended_at_kiosk(&out, "k1"),
        [(call.clone(), id("lina"))]
    );
    // Omar's desk closes the connection hers made to it.
    assert!(to_desk(&out, "omar").iter().any(|m| matches!(
        m,
        BrokerToDesk::RingEnded { call: c, staff } if *c == call && staff.as_str() == "lina"
    )));
    assert!(s.core.router().call(&call).is_some());
    let out = desk_signals(&mut s, "lina", &call);
    assert_eq!(refusal_to_desk(&out, "lina").code, ErrorCode::CallGone);
}
