//! Packet generation and request answering: every frame decodes (strictly, unless the device
//! deliberately sends CRC-16/MODBUS), with the right CN, ST, codes and values.

use hj212::commands::Target;
use hj212::{Decoder, DecoderConfig, Deviation, Mode, Packet, Version};
use profile::{Profile, SiteKind};
use sim::gen::{DeviceGen, Upload};
use sim::respond::{respond, LoggerState, Out};
use sim::time::{floor_day, floor_hour, n14, DAY, HOUR};
use sim::{fleet, SimDevice};

const NOW: i64 = 1_764_316_800 + 12 * HOUR; // 2025-11-28 20:00 Beijing

fn decode(frame: &[u8], mode: Mode) -> (Packet, Vec<Deviation>) {
    let mut d = Decoder::new(DecoderConfig::new(mode));
    d.feed(frame);
    let f = d.next_frame().expect("a frame").expect("frame decodes");
    assert!(d.next_frame().is_none());
    (f.packet, f.deviations)
}

fn one_of_each() -> Vec<SimDevice> {
    let all = fleet(&Profile::dianjiang(), None);
    let mut out: Vec<SimDevice> = Vec::new();
    for k in SiteKind::ALL {
        out.extend(
            all.iter()
                .filter(|d| d.kind == k && !d.modbus_crc)
                .take(2)
                .cloned(),
        );
    }
    out.extend(all.iter().filter(|d| d.modbus_crc).take(3).cloned());
    out
}

#[test]
fn fleet_is_the_whole_county_with_stable_ids() {
    let p = Profile::dianjiang();
    let all = fleet(&p, None);
    assert_eq!(all.len(), p.fleet().len());
    assert!(all.len() > 1400);
    let mut mns: Vec<&str> = all.iter().map(|d| d.device.mn.as_str()).collect();
    mns.sort();
    mns.dedup();
    assert_eq!(mns.len(), all.len(), "MNs are unique");
    for d in &all {
        assert_eq!(d.device.mn.len(), 24);
        assert!(d
            .device
            .mn
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)));
        assert_eq!(d.device.pw.len(), 6);
        assert!(d.device.pw.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(d.device.mn, sim::mn_for(&d.device.site));
        assert_eq!(
            d.modbus_crc,
            d.device.allow == vec!["crc_modbus".to_string()]
        );
    }
    assert!(all.iter().any(|d| d.modbus_crc), "some devices deviate");
    // A small fleet still has every kind.
    let small = fleet(&p, Some(14));
    for k in SiteKind::ALL {
        assert!(small.iter().any(|d| d.kind == k), "{k} missing");
    }
}

#[test]
fn every_upload_decodes_with_the_right_header_and_codes() {
    for dev in one_of_each() {
        let mut g = DeviceGen::new(&dev, 5, sim::FUME_CODE);
        for (i, up) in [Upload::Rtd, Upload::Min, Upload::Hour, Upload::Day]
            .into_iter()
            .enumerate()
        {
            if dev.kind == SiteKind::Fume && up == Upload::Day {
                continue;
            }
            let t = match up {
                Upload::Rtd => NOW - 7,
                Upload::Min => NOW - 1200,
                Upload::Hour => floor_hour(NOW) - 4 * HOUR,
                Upload::Day => floor_day(NOW) - DAY,
            };
            let qn = 20251128200000000 + i as u64;
            let mut frame = Vec::new();
            let values = g.frame(&dev, up, t, qn, 10, &mut frame);
            let (p, devs) = if dev.modbus_crc {
                let mut d = Decoder::new(DecoderConfig::new(Mode::Strict));
                d.feed(&frame);
                assert!(
                    matches!(d.next_frame(), Some(Err(_))),
                    "strict refuses a MODBUS CRC"
                );
                let (p, devs) = decode(&frame, Mode::Lenient);
                assert_eq!(devs, vec![Deviation::CrcModbus]);
                (p, devs)
            } else {
                decode(&frame, Mode::Strict)
            };
            assert!(devs.is_empty() || dev.modbus_crc);
            assert_eq!(p.cn(), up.cn());
            assert_eq!(p.st(), dev.st);
            assert_eq!(p.mn(), dev.device.mn);
            assert_eq!(p.pw(), dev.device.pw);
            assert_eq!(p.flag(), Some(5));
            assert_eq!(p.version(), Version::V2017);
            assert!(p.ack_requested());
            assert_eq!(p.qn(), Some(qn.to_string().as_str()));
            assert_eq!(p.data_time(), Some(n14(t).as_str()));
            assert_eq!(
                p.values().count() as u32,
                values,
                "{} {:?}",
                dev.device.site,
                up
            );
            assert!(frame.len() <= 1036, "frame of {} bytes", frame.len());
            let codes: Vec<&str> = p.values().map(|v| v.code()).collect();
            let want: &[&str] = match dev.kind {
                SiteKind::Air => &[
                    "a34004", "a34002", "a21026", "a21004", "a21005", "a05024", "a01001", "a01002",
                    "a01007", "a01008",
                ],
                SiteKind::SurfaceWater | SiteKind::DrinkingWater => &[
                    "w01001", "w01009", "w01019", "w21003", "w21011", "w21001", "w01010", "w01014",
                ],
                SiteKind::Noise => match up {
                    Upload::Rtd => &["LA"],
                    Upload::Day => &["Leq", "Ldn"],
                    _ => &["Leq", "L10", "L50", "L90", "LMx", "LMn"],
                },
                SiteKind::FlueGas => &["a21026", "a21002", "a34013", "a19001", "a00000", "a01012"],
                SiteKind::Wastewater => &["w01018", "w21003", "w01001", "w00000"],
                SiteKind::Fume => &[sim::FUME_CODE, "SB1", "SB2"],
            };
            for w in want {
                assert!(
                    codes.contains(w),
                    "{} {:?}: {w} missing in {codes:?}",
                    dev.device.site,
                    up
                );
            }
            for v in p.values() {
                let x = v.number().expect("numeric");
                assert!(x.is_finite());
                if dev.kind != SiteKind::Air || v.code() != "a01001" {
                    assert!(x >= 0.0, "{} {} = {x}", dev.device.site, v.item().key());
                }
                if dev.kind == SiteKind::Noise {
                    assert!(v.field().ends_with("Data"));
                } else if dev.kind != SiteKind::Fume {
                    assert!(v.flag().is_some(), "{} has no flag", v.item().key());
                }
            }
            if dev.kind == SiteKind::FlueGas && up != Upload::Rtd {
                let v = p
                    .values()
                    .find(|v| v.code() == "a21026" && v.field() == "ZsAvg");
                assert!(v.is_some(), "O2-corrected SO2");
                assert!(p
                    .values()
                    .any(|v| v.code() == "a00000" && v.field() == "Cou"));
            }
        }
    }
}

#[test]
fn same_seed_same_bytes() {
    let dev = one_of_each().remove(0);
    let mut a = DeviceGen::new(&dev, 9, sim::FUME_CODE);
    let mut b = DeviceGen::new(&dev, 9, sim::FUME_CODE);
    let (mut fa, mut fb) = (Vec::new(), Vec::new());
    a.frame(&dev, Upload::Hour, floor_hour(NOW), 1, 10, &mut fa);
    b.frame(&dev, Upload::Hour, floor_hour(NOW), 1, 10, &mut fb);
    assert_eq!(fa, fb);
    let mut c = DeviceGen::new(&dev, 10, sim::FUME_CODE);
    let mut fc = Vec::new();
    c.frame(&dev, Upload::Hour, floor_hour(NOW), 1, 10, &mut fc);
    assert_ne!(fa, fc);
}

fn request(dev: &SimDevice, qn: &str, cn: &str, items: &[(&str, &str)]) -> Packet {
    Target::new(dev.st, &dev.device.pw, &dev.device.mn, Version::V2017)
        .request(qn, cn, items)
        .expect("request builds")
}

fn frame_packet(out: &Out) -> Packet {
    match out {
        Out::Frame(f) => decode(f, Mode::Strict).0,
        Out::Upload { .. } => panic!("not a frame"),
    }
}

#[test]
fn history_request_is_answered_9011_uploads_9012() {
    let all = one_of_each();
    let dev = all.iter().find(|d| d.kind == SiteKind::Air).unwrap();
    let begin = floor_hour(NOW) - 10 * HOUR;
    let end = floor_hour(NOW) - 2 * HOUR;
    let req = request(
        dev,
        "20251128200101123",
        "2061",
        &[("BeginTime", &n14(begin)), ("EndTime", &n14(end))],
    );
    let mut st = LoggerState::default();
    let outs = respond(dev, &mut st, &req, NOW);
    assert_eq!(outs.len(), 1 + 9 + 1);
    let first = frame_packet(&outs[0]);
    assert_eq!(
        (first.cn(), first.qn(), first.get("QnRtn")),
        ("9011", Some("20251128200101123"), Some("1"))
    );
    assert_eq!(first.st(), "91");
    let mut g = DeviceGen::new(dev, 1, sim::FUME_CODE);
    for (i, o) in outs[1..10].iter().enumerate() {
        let Out::Upload { up, t } = o else {
            panic!("upload expected")
        };
        assert_eq!(*up, Upload::Hour);
        assert_eq!(*t, begin + i as i64 * HOUR);
        let mut f = Vec::new();
        g.frame(
            dev,
            *up,
            *t,
            20251128200102000 + i as u64,
            st.min_interval,
            &mut f,
        );
        let p = decode(&f, Mode::Strict).0;
        assert_eq!(p.cn(), "2061");
        assert_eq!(p.data_time(), Some(n14(*t).as_str()));
    }
    let last = frame_packet(&outs[10]);
    assert_eq!(
        (last.cn(), last.qn(), last.get("ExeRtn")),
        ("9012", Some("20251128200101123"), Some("1"))
    );

    // Day data and minute data for a range; an empty range has no data.
    let req = request(
        dev,
        "20251128200101124",
        "2031",
        &[
            ("BeginTime", &n14(floor_day(NOW) - 3 * DAY)),
            ("EndTime", &n14(NOW)),
        ],
    );
    let outs = respond(dev, &mut st, &req, NOW);
    assert_eq!(
        outs.iter()
            .filter(|o| matches!(
                o,
                Out::Upload {
                    up: Upload::Day,
                    ..
                }
            ))
            .count(),
        3
    );
    let req = request(
        dev,
        "20251128200101125",
        "2051",
        &[
            ("BeginTime", &n14(begin)),
            ("EndTime", &n14(begin + HOUR - 1)),
        ],
    );
    let outs = respond(dev, &mut st, &req, NOW);
    assert_eq!(
        outs.iter()
            .filter(|o| matches!(
                o,
                Out::Upload {
                    up: Upload::Min,
                    ..
                }
            ))
            .count(),
        6
    );
    let req = request(
        dev,
        "20251128200101126",
        "2061",
        &[
            ("BeginTime", &n14(NOW + DAY)),
            ("EndTime", &n14(NOW + 2 * DAY)),
        ],
    );
    let outs = respond(dev, &mut st, &req, NOW);
    assert_eq!(outs.len(), 2);
    assert_eq!(frame_packet(&outs[1]).get("ExeRtn"), Some("100"));
}

#[test]
fn settings_and_unknown_requests() {
    let dev = &one_of_each()[0];
    let mut st = LoggerState::default();
    let req = request(
        dev,
        "20251128200101200",
        "1012",
        &[("SystemTime", &n14(NOW + 5))],
    );
    let outs = respond(dev, &mut st, &req, NOW);
    let ps: Vec<Packet> = outs.iter().map(frame_packet).collect();
    assert_eq!(
        ps.iter().map(|p| p.cn()).collect::<Vec<_>>(),
        ["9011", "9012"]
    );
    assert!(ps.iter().all(|p| p.qn() == Some("20251128200101200")));
    assert_eq!(ps[1].get("ExeRtn"), Some("1"));
    assert_eq!(st.clock_offset, 5);

    let req = request(dev, "20251128200101201", "1064", &[("MinInterval", "5")]);
    let ps: Vec<Packet> = respond(dev, &mut st, &req, NOW)
        .iter()
        .map(frame_packet)
        .collect();
    assert_eq!(ps[1].get("ExeRtn"), Some("1"));
    assert_eq!(st.min_interval, 5);
    let req = request(dev, "20251128200101202", "1062", &[("RtdInterval", "60")]);
    respond(dev, &mut st, &req, NOW);
    assert_eq!(st.rtd_interval, 60);
    let req = request(dev, "20251128200101203", "1061", &[]);
    let ps: Vec<Packet> = respond(dev, &mut st, &req, NOW)
        .iter()
        .map(frame_packet)
        .collect();
    assert_eq!(
        ps.iter().map(|p| p.cn()).collect::<Vec<_>>(),
        ["9011", "1061", "9012"]
    );
    assert_eq!(ps[1].get("RtdInterval"), Some("60"));

    // A control command this logger does not do: rejected; a code that is no command: CN error.
    let req = request(dev, "20251128200101204", "3011", &[("PolId", "a34004")]);
    let ps: Vec<Packet> = respond(dev, &mut st, &req, NOW)
        .iter()
        .map(frame_packet)
        .collect();
    assert_eq!((ps.len(), ps[0].get("QnRtn")), (1, Some("2")));
    let req = request(dev, "20251128200101205", "1234", &[]);
    let ps: Vec<Packet> = respond(dev, &mut st, &req, NOW)
        .iter()
        .map(frame_packet)
        .collect();
    assert_eq!(ps[0].get("QnRtn"), Some("8"));
    // Wrong password.
    let bad = Target::new(dev.st, "000000", &dev.device.mn, Version::V2017)
        .request("20251128200101206", "2061", &[])
        .unwrap();
    let ps: Vec<Packet> = respond(dev, &mut st, &bad, NOW)
        .iter()
        .map(frame_packet)
        .collect();
    if dev.device.pw != "000000" {
        assert_eq!(ps[0].get("QnRtn"), Some("3"));
    }
}

#[test]
fn durations() {
    use std::time::Duration;
    assert_eq!(sim::parse_duration("60s"), Ok(Duration::from_secs(60)));
    assert_eq!(sim::parse_duration("10m"), Ok(Duration::from_secs(600)));
    assert_eq!(
        sim::parse_duration("365d"),
        Ok(Duration::from_secs(365 * 86400))
    );
    assert_eq!(sim::parse_duration("90"), Ok(Duration::from_secs(90)));
    assert!(sim::parse_duration("3y").is_err());
}
