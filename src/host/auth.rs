//! The users of `serve --auth`: names and SHA-256 digests of passwords,
//! checked in constant time for the file service's [`Policy`].
//!
//! Layer: host (std). Implements the core's [`Authenticate`]; uses `sha2`.
//!
//! [`Policy`]: crate::app::files::Policy

use sha2::{Digest, Sha256};

use crate::app::files::{Authenticate, ct_eq};

/// Users and the SHA-256 of each one's password. Only digests are kept, so
/// a password given as `USER:sha256:HEX` never exists in memory at all.
///
/// # Example
///
/// ```
/// use layernet::app::files::Authenticate;
/// use layernet::host::auth::Users;
/// let mut users = Users::default();
/// users.add("alice:secret")?;
/// // sha256("hunter2"):
/// users.add("bob:sha256:f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf526a3f6c7")?;
/// assert!(users.check(b"alice", b"secret") && users.check(b"bob", b"hunter2"));
/// assert!(!users.check(b"alice", b"hunter2") && !users.check(b"carol", b"secret"));
/// assert!(users.add("nocolon").is_err() && users.add("eve:sha256:12").is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct Users {
    users: Vec<(Vec<u8>, [u8; 32])>,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Users {
    /// Add `USER:PASS` or `USER:sha256:HEX` (the password's SHA-256 as 64
    /// hex digits).
    ///
    /// # Errors
    /// One line saying what is wrong with `spec`: no colon, an empty user
    /// name, an empty password, or a digest that is not 64 hex digits.
    pub fn add(&mut self, spec: &str) -> Result<(), String> {
        let (user, secret) = spec
            .split_once(':')
            .ok_or_else(|| format!("--auth {spec:?}: give USER:PASS or USER:sha256:HEX"))?;
        if user.is_empty() {
            return Err("--auth: the user name is empty".into());
        }
        let digest = match secret.strip_prefix("sha256:") {
            Some(hex) => parse_digest(hex).ok_or_else(|| {
                format!("--auth {user}:sha256:...: give the password's SHA-256 as 64 hex digits")
            })?,
            None if secret.is_empty() => {
                return Err(format!("--auth {user}: the password is empty"));
            }
            None => sha256(secret.as_bytes()),
        };
        self.users.push((user.as_bytes().to_vec(), digest));
        Ok(())
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Authenticate for Users {
    fn check(&self, user: &[u8], password: &[u8]) -> bool {
        let digest = sha256(password);
        // Every user is compared, and both fields of each, so the time
        // taken tells neither which user exists nor how much matched.
        self.users.iter().fold(false, |found, (name, want)| {
            found | (ct_eq(name, user) & ct_eq(want, &digest))
        })
    }
}
