//! The SHA-256 form podiam records: lowercase hex, as in `manifest.json`'s
//! per-artifact digests and its record of template overrides.

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
