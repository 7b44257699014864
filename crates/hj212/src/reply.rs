//! Answers (Std §6.1, §6.5; Table 9 codes 9011–9014).

use crate::codes::{make_flag, ExeRtn, QnRtn, Version};
use crate::packet::{Packet, PacketBuilder};

/// The Flag of an answer: version of the packet answered (2017 → 4, 2025 → 8), no A, no D.
/// Packets without a Flag (2005) are answered with Flag=4 as in the Std examples.
fn answer_flag(to: &Packet) -> u8 {
    match to.version() {
        Version::V2025 => make_flag(Version::V2025, false, false),
        _ => make_flag(Version::V2017, false, false),
    }
}

fn answer(to: &Packet, cn: &str) -> PacketBuilder {
    PacketBuilder::new("91", cn, to.pw(), to.mn())
        .maybe_qn(to.qn())
        .flag(answer_flag(to))
}

fn build(b: PacketBuilder) -> Packet {
    // Header values come from a parsed packet, so they hold no separators.
    b.build().expect("answer packet fields are valid")
}

/// 9014 data answer to an upload with A=1 (Std §6.5, App. C): echo QN, ST=91, same PW and MN,
/// Flag=4, `CP=&&&&`.
pub fn data_ack_9014(upload: &Packet) -> Packet {
    build(answer(upload, "9014"))
}

/// 9013 notification answer (Std §6.1): echo QN, ST=91, same PW and MN, Flag=4, empty CP.
pub fn notify_ack_9013(notification: &Packet) -> Packet {
    build(answer(notification, "9013"))
}

/// 9011 request answer sent by the field (Std §6.1, Table 7): echo QN, `CP=&&QnRtn=n&&`.
pub fn request_answer_9011(request: &Packet, rtn: QnRtn) -> Packet {
    build(answer(request, "9011").item("QnRtn", rtn.code().to_string()))
}

/// 9012 execution result sent by the field (Std §6.1, Table 6): echo QN, `CP=&&ExeRtn=n&&`.
pub fn exe_result_9012(request: &Packet, rtn: ExeRtn) -> Packet {
    build(answer(request, "9012").item("ExeRtn", rtn.code().to_string()))
}

/// What a receiver must send back for a packet, per Std §6.1/§6.5 and App. C:
/// uploads and notifications with the A bit get 9014/9013. Requests (P→F) are answered by the
/// field's own logic (9011 then 9012) and are not covered here.
pub fn platform_answer(packet: &Packet) -> Option<Packet> {
    if !packet.ack_requested() {
        return None;
    }
    match packet.cn() {
        // answers themselves are never answered
        "9011" | "9012" | "9013" | "9014" => None,
        // notifications and the heartbeat get 9013
        "1013" | "2012" | "2022" | "9015" => Some(notify_ack_9013(packet)),
        _ => Some(data_ack_9014(packet)),
    }
}
