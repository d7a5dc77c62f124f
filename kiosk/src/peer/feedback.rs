//! An interceptor that lets the application see the RTCP it must act on: keyframe requests
//! (PLI, FIR), which only the encoder can answer, the receiver's bandwidth estimate (REMB),
//! which the encoder's bitrate follows, and the loss it reports (SR/RR), which tells a poor
//! link from a cautious estimate. Everything else stays with the interceptors that consume
//! it (NACK).

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use std::collections::VecDeque;
use std::time::Instant;

/// What the application learns from one batch of RTCP.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Feedback {
    pub keyframe_wanted: bool,
    pub estimate_bps: Option<f32>,
    /// The largest share of packets lost since the last report, among the streams reported.
    pub loss_fraction: Option<f32>,
}

impl Feedback {
    pub fn from_packets(packets: &[Box<dyn rtc::rtcp::Packet>]) -> Feedback {
        let mut feedback = Feedback::default();
        for packet in packets {
            let any = packet.as_any();
            if any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>() {
                feedback.keyframe_wanted = true;
            }
            if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
                feedback.estimate_bps = Some(remb.bitrate);
            }
            let reports: &[ReceptionReport] =
                if let Some(sender) = any.downcast_ref::<SenderReport>() {
                    &sender.reports
                } else if let Some(receiver) = any.downcast_ref::<ReceiverReport>() {
                    &receiver.reports
                } else {
                    &[]
                };
            for report in reports {
                let lost = f32::from(report.fraction_lost) / 256.0;
                feedback.loss_fraction = Some(feedback.loss_fraction.unwrap_or(0.0).max(lost));
            }
        }
        feedback
    }
}

fn for_application(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>()
        || any.is::<FullIntraRequest>()
        || any.is::<ReceiverEstimatedMaximumBitrate>()
        || any.is::<SenderReport>()
        || any.is::<ReceiverReport>()
}

/// Sits last in the chain, so every interceptor has seen the whole of the RTCP before it.
#[derive(Default)]
pub struct FeedbackToApplication {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl std::fmt::Debug for FeedbackToApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedbackToApplication")
            .field("queued", &(self.read.len() + self.write.len()))
            .finish()
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for FeedbackToApplication {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let wanted: Vec<Box<dyn rtc::rtcp::Packet>> = packets
                .iter()
                .filter(|p| for_application(p.as_ref()))
                .cloned()
                .collect();
            if wanted.is_empty() {
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(wanted);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }
}

impl Interceptor for FeedbackToApplication {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframe_requests_and_estimates_are_read_from_a_batch() {
        let packets: Vec<Box<dyn rtc::rtcp::Packet>> = vec![
            Box::new(PictureLossIndication {
                sender_ssrc: 1,
                media_ssrc: 2,
            }),
            Box::new(ReceiverEstimatedMaximumBitrate {
                sender_ssrc: 1,
                bitrate: 350_000.0,
                ssrcs: vec![2],
            }),
        ];
        let feedback = Feedback::from_packets(&packets);
        assert!(feedback.keyframe_wanted);
        assert_eq!(feedback.estimate_bps, Some(350_000.0));
        assert_eq!(feedback.loss_fraction, None);
        assert_eq!(Feedback::from_packets(&[]), Feedback::default());
    }

    #[test]
    fn the_worst_reported_loss_is_read_from_sender_and_receiver_reports() {
        let report = |ssrc, fraction_lost| ReceptionReport {
            ssrc,
            fraction_lost,
            ..Default::default()
        };
        let packets: Vec<Box<dyn rtc::rtcp::Packet>> = vec![
            Box::new(SenderReport {
                ssrc: 9,
                reports: vec![report(2, 13)],
                ..Default::default()
            }),
            Box::new(ReceiverReport {
                ssrc: 9,
                reports: vec![report(3, 64)],
                ..Default::default()
            }),
        ];
        let feedback = Feedback::from_packets(&packets);
        assert_eq!(feedback.loss_fraction, Some(0.25));
    }
}
