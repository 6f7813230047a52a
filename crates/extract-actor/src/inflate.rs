//! Inflating a whole `.tgz` in one call where that is safe and small enough.
//!
//! libdeflate inflates a buffer about twice as fast as flate2 streams it
//! (ant-design's 1,938 tarballs: 1.3 s against 2.9 s on one core), but it
//! needs the inflated size up front. A gzip member ends with that size modulo
//! 2³² (RFC 1952, ISIZE). The trailer is the sender's word, so it only sizes a
//! buffer of at most [`WHOLE_INFLATE_MAX`]; libdeflate checks it, with the
//! CRC, against what it inflates, and anything it refuses is left to the
//! streaming path, which reports it as before.

/// The largest tarball inflated whole. Larger ones stream, so an extraction
/// holds at most this much inflated data at once. At 16 MiB, ant-design's
/// cold install peaked about 30 MB higher than at 8 MiB and saved under
/// 0.1 s of CPU.
pub(crate) const WHOLE_INFLATE_MAX: usize = 8 << 20;

/// The size a gzip member's trailer claims, when it is one worth inflating whole.
pub(crate) fn whole_size(tgz: &[u8]) -> Option<usize> {
    let trailer: [u8; 4] = tgz.get(tgz.len().checked_sub(4)?..)?.try_into().ok()?;
    let size = usize::try_from(u32::from_le_bytes(trailer)).ok()?;
    (size <= WHOLE_INFLATE_MAX).then_some(size)
}

/// The tar inside `tgz`, inflated in one call; `None` when it should stream.
pub(crate) fn inflate_whole(tgz: &[u8]) -> Option<Vec<u8>> {
    let size = whole_size(tgz)?;
    let mut tar = vec![0; size];
    let inflated = libdeflater::Decompressor::new()
        .gzip_decompress(tgz, &mut tar)
        .ok()?;
    (inflated == size).then_some(tar)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_small_member_inflates_whole_to_what_streaming_gives() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|n| (n % 251).to_le_bytes())
            .collect();
        let tgz = gzip(&data);
        let mut streamed = Vec::new();
        flate2::read::GzDecoder::new(&tgz[..])
            .read_to_end(&mut streamed)
            .unwrap();
        assert_eq!(inflate_whole(&tgz), Some(streamed));
    }

    #[test]
    fn a_trailer_claiming_more_than_the_limit_is_streamed_not_allocated() {
        let mut tgz = gzip(b"small");
        let at = tgz.len() - 4;
        tgz[at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(whole_size(&tgz), None);
        let claimed = u32::try_from(WHOLE_INFLATE_MAX + 1).unwrap();
        tgz[at..].copy_from_slice(&claimed.to_le_bytes());
        assert_eq!(whole_size(&tgz), None);
    }

    #[test]
    fn a_trailer_that_lies_or_a_damaged_body_is_left_to_streaming() {
        let tgz = gzip(b"module.exports = 1;\n");
        let mut lying = tgz.clone();
        let at = lying.len() - 4;
        lying[at..].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(inflate_whole(&lying), None);
        let mut bad_crc = tgz.clone();
        bad_crc[at - 1] ^= 0xff;
        assert_eq!(inflate_whole(&bad_crc), None);
        assert_eq!(inflate_whole(&tgz[..3]), None);
        assert_eq!(inflate_whole(&[]), None);
    }
}
