//! Answering the platform like a data logger (Std §6.1, App. C): a request gets 9011 (QnRtn)
//! echoing its QN; if accepted, the device executes (for history requests: the uploads of the
//! range, each with its own QN, C.20) and then sends 9012 (ExeRtn) with the request's QN.
//! Notifications get 9013. Sans-IO: the client writes what this returns.

use hj212::reply::{exe_result_9012, notify_ack_9013, request_answer_9011};
use hj212::{encode, CommandCode, ExeRtn, Packet, PacketBuilder, QnRtn};

use crate::fleet::SimDevice;
use crate::gen::{frame_segment, interval_starts, Upload};
use crate::time::{n14, now_ms};

/// Most uploads one history request is answered with (a larger range gets the first ones).
pub const MAX_UPLOADS_PER_REQUEST: usize = 20_000;

/// What a device writes, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    /// A frame written as is (answers; uploads that want no 9014).
    Frame(Vec<u8>),
    /// A data upload the client frames with a fresh QN and tracks until its 9014.
    Upload { up: Upload, t: i64 },
}

/// The logger settings the platform may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggerState {
    /// Real-time interval, seconds (1061/1062).
    pub rtd_interval: u32,
    /// Minute-data interval, minutes (1063/1064).
    pub min_interval: u32,
    /// Clock offset set by 1012 (seconds; kept, not applied to history timestamps).
    pub clock_offset: i64,
    /// Real-time uploads enabled (2011 start / 2012 stop).
    pub realtime: bool,
}

impl Default for LoggerState {
    fn default() -> Self {
        LoggerState {
            rtd_interval: 30,
            min_interval: 10,
            clock_offset: 0,
            realtime: true,
        }
    }
}

fn frame_of(dev: &SimDevice, p: &Packet) -> Vec<u8> {
    let mut out = Vec::new();
    // Answers of a deviant device carry its CRC flavour too.
    if dev.modbus_crc {
        frame_segment(dev, p.segment().as_bytes(), &mut out);
    } else {
        out = encode(p);
    }
    out
}

/// An upload answering a "get" request (1011, 1061, 1063): no A bit, the request's QN.
fn get_answer(dev: &SimDevice, req: &Packet, key: &str, value: String) -> Option<Vec<u8>> {
    let p = PacketBuilder::new(dev.st, req.cn(), &dev.device.pw, &dev.device.mn)
        .maybe_qn(req.qn())
        .flag(4)
        .item(key, value)
        .build()
        .ok()?;
    Some(frame_of(dev, &p))
}

/// The device's answer to one packet from the platform; `now` is Unix seconds.
pub fn respond(dev: &SimDevice, state: &mut LoggerState, req: &Packet, now: i64) -> Vec<Out> {
    let cn = req.cn();
    let mut out = Vec::new();
    let ready = |out: &mut Vec<Out>| {
        out.push(Out::Frame(frame_of(
            dev,
            &request_answer_9011(req, QnRtn::Ready),
        )))
    };
    let done = |out: &mut Vec<Out>, rtn: ExeRtn| {
        out.push(Out::Frame(frame_of(dev, &exe_result_9012(req, rtn))))
    };
    if matches!(cn, "9011" | "9012" | "9013" | "9014") {
        return out;
    }
    if req.mn() != dev.device.mn {
        out.push(Out::Frame(frame_of(
            dev,
            &request_answer_9011(req, QnRtn::MnError),
        )));
        return out;
    }
    if req.pw() != dev.device.pw {
        out.push(Out::Frame(frame_of(
            dev,
            &request_answer_9011(req, QnRtn::PwError),
        )));
        return out;
    }
    match cn {
        // Notifications: answer 9013 (when asked to).
        "2012" | "2022" | "9015" => {
            if cn == "2012" {
                state.realtime = false;
            }
            if req.ack_requested() {
                out.push(Out::Frame(frame_of(dev, &notify_ack_9013(req))));
            }
        }
        "1012" => {
            ready(&mut out);
            let rtn = match req.get("SystemTime").and_then(model::parse_hj212_time) {
                Some(t) => {
                    state.clock_offset = t - now;
                    ExeRtn::Success
                }
                None => ExeRtn::ConditionError,
            };
            done(&mut out, rtn);
        }
        "1062" | "1064" | "1000" | "1072" | "2011" | "2021" => {
            ready(&mut out);
            let ok = match cn {
                "1062" => req
                    .get("RtdInterval")
                    .and_then(|v| v.parse::<u32>().ok())
                    .filter(|v| (30..=3600).contains(v))
                    .map(|v| state.rtd_interval = v)
                    .is_some(),
                "1064" => req
                    .get("MinInterval")
                    .and_then(|v| v.parse::<u32>().ok())
                    .filter(|v| [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].contains(v))
                    .map(|v| state.min_interval = v)
                    .is_some(),
                "2011" => {
                    state.realtime = true;
                    true
                }
                _ => true,
            };
            done(
                &mut out,
                if ok {
                    ExeRtn::Success
                } else {
                    ExeRtn::ConditionError
                },
            );
        }
        "1011" | "1061" | "1063" => {
            ready(&mut out);
            let (k, v) = match cn {
                "1011" => ("SystemTime", n14(now + state.clock_offset)),
                "1061" => ("RtdInterval", state.rtd_interval.to_string()),
                _ => ("MinInterval", state.min_interval.to_string()),
            };
            if let Some(f) = get_answer(dev, req, k, v) {
                out.push(Out::Frame(f));
            }
            done(&mut out, ExeRtn::Success);
        }
        "2051" | "2061" | "2031" => {
            let up = Upload::from_cn(cn).expect("history CN");
            let range = req
                .get("BeginTime")
                .and_then(model::parse_hj212_time)
                .zip(req.get("EndTime").and_then(model::parse_hj212_time));
            let Some((begin, end)) = range.filter(|(b, e)| b <= e) else {
                ready(&mut out);
                done(&mut out, ExeRtn::ConditionError);
                return out;
            };
            ready(&mut out);
            let before = out.len();
            out.extend(
                interval_starts(dev, up, begin, end, now, state.min_interval)
                    .take(MAX_UPLOADS_PER_REQUEST)
                    .map(|t| Out::Upload { up, t }),
            );
            let rtn = if out.len() == before {
                ExeRtn::NoData
            } else {
                ExeRtn::Success
            };
            done(&mut out, rtn);
        }
        _ => {
            // Known but not something this logger does (control commands 3xxx …): rejected;
            // not a command code at all: CN error (Std Table 7).
            let rtn = if CommandCode::lookup_str(cn).is_some() {
                QnRtn::Rejected
            } else {
                QnRtn::CnError
            };
            out.push(Out::Frame(frame_of(dev, &request_answer_9011(req, rtn))));
        }
    }
    out
}

/// `respond` at the wall clock.
pub fn respond_now(dev: &SimDevice, state: &mut LoggerState, req: &Packet) -> Vec<Out> {
    respond(dev, state, req, now_ms() / 1000)
}
