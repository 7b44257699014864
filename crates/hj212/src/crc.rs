//! The two CRCs that meet on HJ 212 links.
//!
//! * [`crc16`]: the standard's own CRC (HJ 212-2017 Appendix A). Polynomial 0xA001 (reflected),
//!   initial value 0xFFFF, but every data byte is XORed into the **high** byte of the register
//!   (`reg = (reg >> 8) ^ b`), not the low byte as CRC-16/MODBUS does. "123456789" gives 0x2F80.
//! * [`crc16_modbus`]: CRC-16/MODBUS, which many field devices send instead (0x4B37 for
//!   "123456789"). Only used to recognise that deviation.
//!
//! Because `reg = (reg >> 8) ^ b` discards the low byte, the HJ CRC is an 8-bit state machine
//! (`h' = T[h ^ b] >> 8`) whose step is linear over GF(2). That allows slicing-by-8 with
//! 8 tables of 256 bytes each (2 KiB, L1 resident): one dependent table look-up per 8 bytes.

/// 16-bit result of shifting `x` (a value in `0..=255`) through 8 rounds of the reflected
/// 0xA001 polynomial.
const fn shift8(x: u16) -> u16 {
    let mut reg = x;
    let mut i = 0;
    while i < 8 {
        let lsb = reg & 1;
        reg >>= 1;
        if lsb != 0 {
            reg ^= 0xA001;
        }
        i += 1;
    }
    reg
}

/// `FULL[x] = shift8(x)`: the complete 16-bit register after the last byte.
const FULL: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = shift8(i as u16);
        i += 1;
    }
    t
};

/// `SLICE[k][x]`: the high byte of the register after feeding `x` followed by `k` zero bytes,
/// starting from a zero state (the step is linear, so contributions XOR together).
const SLICE: [[u8; 256]; 8] = {
    let mut t = [[0u8; 256]; 8];
    let mut x = 0;
    while x < 256 {
        let mut h = (FULL[x] >> 8) as u8;
        t[0][x] = h;
        let mut k = 1;
        while k < 8 {
            h = (FULL[h as usize] >> 8) as u8;
            t[k][x] = h;
            k += 1;
        }
        x += 1;
    }
    t
};

/// The HJ 212 CRC (HJ 212-2017 Appendix A) of `data` (the data segment bytes).
///
/// ```
/// assert_eq!(hj212::crc16(b"123456789"), 0x2F80);
/// ```
pub fn crc16(data: &[u8]) -> u16 {
    let Some((&last, body)) = data.split_last() else {
        return 0xFFFF;
    };
    // h is the high byte of the register; the low byte never matters until the end.
    let mut h: u8 = 0xFF;
    let mut chunks = body.chunks_exact(8);
    for c in &mut chunks {
        h = SLICE[7][(h ^ c[0]) as usize]
            ^ SLICE[6][c[1] as usize]
            ^ SLICE[5][c[2] as usize]
            ^ SLICE[4][c[3] as usize]
            ^ SLICE[3][c[4] as usize]
            ^ SLICE[2][c[5] as usize]
            ^ SLICE[1][c[6] as usize]
            ^ SLICE[0][c[7] as usize];
    }
    for &b in chunks.remainder() {
        h = SLICE[0][(h ^ b) as usize];
    }
    FULL[(h ^ last) as usize]
}

/// CRC-16/MODBUS of `data` (poly 0xA001 reflected, init 0xFFFF, byte XORed into the low byte).
///
/// ```
/// assert_eq!(hj212::crc16_modbus(b"123456789"), 0x4B37);
/// ```
pub fn crc16_modbus(data: &[u8]) -> u16 {
    let mut reg: u16 = 0xFFFF;
    for &b in data {
        reg = (reg >> 8) ^ FULL[((reg ^ b as u16) & 0xFF) as usize];
    }
    reg
}

/// Straight transcription of the standard's C code (Appendix A), bit by bit. Reference for tests.
#[doc(hidden)]
pub fn crc16_bitwise(data: &[u8]) -> u16 {
    let mut reg: u16 = 0xFFFF;
    for &b in data {
        reg = (reg >> 8) ^ b as u16;
        for _ in 0..8 {
            let lsb = reg & 1;
            reg >>= 1;
            if lsb != 0 {
                reg ^= 0xA001;
            }
        }
    }
    reg
}

/// Format a CRC as the 4 uppercase hex digits the standard prints.
pub fn crc_hex(crc: u16) -> [u8; 4] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    [
        HEX[(crc >> 12) as usize & 15],
        HEX[(crc >> 8) as usize & 15],
        HEX[(crc >> 4) as usize & 15],
        HEX[crc as usize & 15],
    ]
}

/// Parse 4 hex digits (either case) into a CRC value.
pub fn parse_crc_hex(text: &[u8]) -> Option<u16> {
    if text.len() != 4 {
        return None;
    }
    let mut v: u16 = 0;
    for &c in text {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'F' => c - b'A' + 10,
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        v = (v << 4) | d as u16;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HJ 212-2017 Appendix A: check value of "123456789" (hj212.md §1.3).
    #[test]
    fn check_values() {
        assert_eq!(crc16(b"123456789"), 0x2F80);
        assert_eq!(crc16_bitwise(b"123456789"), 0x2F80);
        assert_eq!(crc16_modbus(b"123456789"), 0x4B37);
        assert_eq!(crc16(b""), 0xFFFF);
    }

    /// Slicing-by-8 agrees with the bit-by-bit transcription of Appendix A for every length.
    #[test]
    fn sliced_matches_bitwise() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 13) as u8).collect();
        for n in 0..data.len() {
            assert_eq!(crc16(&data[..n]), crc16_bitwise(&data[..n]), "len {n}");
        }
    }

    #[test]
    fn hex() {
        assert_eq!(&crc_hex(0x1C80), b"1C80");
        assert_eq!(parse_crc_hex(b"1c80"), Some(0x1C80));
        assert_eq!(parse_crc_hex(b"1g80"), None);
    }
}
