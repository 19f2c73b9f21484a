//! Little-endian fields at fixed offsets of a record: the byte access every reader
//! and writer of this crate is built on. Out-of-range reads give zeros and
//! out-of-range writes do nothing (callers check lengths first; with constant
//! offsets into fixed-size records the checks compile away).

/// `N` bytes of `r` at `at`, zeros if they are not all there.
#[inline(always)]
pub(crate) fn get<const N: usize>(r: &[u8], at: usize) -> [u8; N] {
    r.get(at..at.saturating_add(N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .unwrap_or([0; N])
}

/// Writes `bytes` into `r` at `at`, if they fit.
#[inline(always)]
pub(crate) fn put<const N: usize>(r: &mut [u8], at: usize, bytes: [u8; N]) {
    if let Some(dst) = r.get_mut(at..at.saturating_add(N)) {
        dst.copy_from_slice(&bytes);
    }
}

#[inline(always)]
pub(crate) fn u8_at(r: &[u8], at: usize) -> u8 {
    r.get(at).copied().unwrap_or(0)
}

#[inline(always)]
pub(crate) fn u32_at(r: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(get(r, at))
}

#[inline(always)]
pub(crate) fn u64_at(r: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(get(r, at))
}

#[inline(always)]
pub(crate) fn i64_at(r: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(get(r, at))
}

/// A length as the u32 the wire stores, saturating.
#[inline(always)]
pub(crate) fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
