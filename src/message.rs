//! [`Message`]: an ordered list of frames, sent and received atomically.
//!
//! A single-frame message — the common case — is stored inline, so building
//! one from a [`Bytes`] allocates nothing beyond the frame itself.

use std::ops::Index;

use std::sync::Arc;

use bytes::Bytes;

use crate::zmtp::Properties;

/// The property under which a message carries its peer's user id.
pub(crate) const USER_ID: &str = "User-Id";

/// A multipart message: one or more frames (a message with no frames can be
/// built but not sent). Frames are [`Bytes`], so cloning a message or
/// slicing frames out of a received buffer copies no payload.
///
/// ```
/// use brokerless::Message;
/// let mut m = Message::from("header");
/// m.push("body");
/// assert_eq!(m.len(), 2);
/// assert_eq!(&m[1], b"body");
/// ```
#[derive(Clone, Default)]
pub struct Message {
    frames: Frames,
}

impl PartialEq for Message {
    /// Messages are equal when their frames are; metadata is not compared.
    fn eq(&self, other: &Message) -> bool {
        self.frames() == other.frames()
    }
}

impl Eq for Message {}

/// The frames, and the sending peer's metadata on messages from peers
/// that went through a security mechanism or an authenticator (see
/// [`Message::property`]). The metadata rides in the `Many` variant so
/// that a message stays 40 bytes: it is moved through every queue.
#[derive(Clone)]
enum Frames {
    One(Bytes),
    Many(Vec<Bytes>, Option<Arc<Properties>>),
}

impl Default for Frames {
    fn default() -> Self {
        Frames::Many(Vec::new(), None)
    }
}

impl Message {
    /// An empty message with no frames; add frames with [`Message::push`].
    pub fn new() -> Message {
        Message::default()
    }

    /// A message for a group, as RADIO sends and DISH receives it:
    /// `[group, body]`. The group (at most 255 bytes) is checked by
    /// `send`.
    pub fn with_group(group: impl Into<Bytes>, body: impl Into<Bytes>) -> Message {
        Message::from(vec![group.into(), body.into()])
    }

    /// Appends a frame at the end.
    pub fn push(&mut self, frame: impl Into<Bytes>) {
        let frame = frame.into();
        match &mut self.frames {
            Frames::Many(v, None) if v.is_empty() => self.frames = Frames::One(frame),
            Frames::Many(v, _) => v.push(frame),
            Frames::One(first) => {
                let first = std::mem::take(first);
                self.frames = Frames::Many(vec![first, frame], None);
            }
        }
    }

    /// Inserts a frame at the front (for envelopes such as routing ids).
    pub fn push_front(&mut self, frame: impl Into<Bytes>) {
        let meta = self.take_metadata();
        let mut frames = std::mem::take(self).into_frames();
        frames.insert(0, frame.into());
        *self = Message::from(frames);
        if let Some(meta) = meta {
            self.set_metadata(meta);
        }
    }

    /// The user id that the context's authenticator gave the peer this
    /// message came from (RFC 27; the PLAIN user name or the CURVE key's
    /// Z85 text with [`crate::Authenticator`]'s own rules). `None` for
    /// messages built locally, or from peers no authenticator admitted.
    pub fn user_id(&self) -> Option<&[u8]> {
        self.property(USER_ID).filter(|id| !id.is_empty())
    }

    /// A metadata property of the peer this message came from, as
    /// libzmq's `zmq_msg_gets`: what the peer announced in its handshake
    /// (`Socket-Type`, `Identity`, ...), then `User-Id` and whatever the
    /// authenticator added. Names are compared ignoring ASCII case. Only
    /// messages from peers that used PLAIN or CURVE, or that an
    /// authenticator admitted, carry metadata.
    pub fn property(&self, name: &str) -> Option<&[u8]> {
        match &self.frames {
            Frames::Many(_, Some(meta)) => meta.get(name).map(|v| &v[..]),
            _ => None,
        }
    }

    /// Detaches the peer's metadata (to move it to a rebuilt message).
    pub(crate) fn take_metadata(&mut self) -> Option<Arc<Properties>> {
        match &mut self.frames {
            Frames::Many(_, meta) => meta.take(),
            Frames::One(_) => None,
        }
    }

    /// Attaches the peer's metadata (the engine does, on delivery).
    pub(crate) fn set_metadata(&mut self, meta: Arc<Properties>) {
        match &mut self.frames {
            Frames::Many(_, slot) => *slot = Some(meta),
            Frames::One(b) => {
                let only = std::mem::take(b);
                self.frames = Frames::Many(vec![only], Some(meta));
            }
        }
    }

    /// Removes and returns the first frame (for envelopes such as routing
    /// ids and delimiters).
    pub fn pop_front(&mut self) -> Option<Bytes> {
        match &mut self.frames {
            Frames::One(_) => match std::mem::take(&mut self.frames) {
                Frames::One(b) => Some(b),
                Frames::Many(..) => None,
            },
            Frames::Many(v, _) if v.is_empty() => None,
            Frames::Many(v, meta) => {
                let first = v.remove(0);
                if v.len() == 1 && meta.is_none() {
                    let only = v.pop().unwrap_or_default();
                    self.frames = Frames::One(only);
                }
                Some(first)
            }
        }
    }

    /// The frames, in order.
    pub fn frames(&self) -> &[Bytes] {
        match &self.frames {
            Frames::One(b) => std::slice::from_ref(b),
            Frames::Many(v, _) => v,
        }
    }

    /// The frame at `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<&Bytes> {
        self.frames().get(index)
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames().len()
    }

    /// Whether the message has no frames at all (a message of one empty
    /// frame is not empty).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total payload size: the sum of the frame lengths.
    pub fn byte_len(&self) -> usize {
        self.frames().iter().map(Bytes::len).sum()
    }

    /// The frames, by value.
    pub fn into_frames(self) -> Vec<Bytes> {
        match self.frames {
            Frames::One(b) => vec![b],
            Frames::Many(v, _) => v,
        }
    }

    /// Iterates over the frames.
    pub fn iter(&self) -> std::slice::Iter<'_, Bytes> {
        self.frames().iter()
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.frames()).finish()
    }
}

impl Index<usize> for Message {
    type Output = [u8];

    /// The bytes of frame `index`; panics if there is no such frame, like
    /// slice indexing.
    fn index(&self, index: usize) -> &[u8] {
        &self.frames()[index]
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Message {
        Message {
            frames: Frames::One(b),
        }
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Message {
        Message::from(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Message {
    fn from(s: String) -> Message {
        Message::from(Bytes::from(s))
    }
}

impl From<&[u8]> for Message {
    fn from(s: &[u8]) -> Message {
        Message::from(Bytes::copy_from_slice(s))
    }
}

impl<const N: usize> From<&[u8; N]> for Message {
    fn from(s: &[u8; N]) -> Message {
        Message::from(&s[..])
    }
}

impl From<Vec<u8>> for Message {
    fn from(v: Vec<u8>) -> Message {
        Message::from(Bytes::from(v))
    }
}

impl From<Vec<Bytes>> for Message {
    fn from(mut v: Vec<Bytes>) -> Message {
        if v.len() == 1 {
            let only = v.pop().unwrap_or_default();
            Message::from(only)
        } else {
            Message {
                frames: Frames::Many(v, None),
            }
        }
    }
}

impl<T: Into<Bytes>> FromIterator<T> for Message {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Message {
        let mut m = Message::new();
        for f in iter {
            m.push(f);
        }
        m
    }
}

impl IntoIterator for Message {
    type Item = Bytes;
    type IntoIter = std::vec::IntoIter<Bytes>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_frames().into_iter()
    }
}

impl<'a> IntoIterator for &'a Message {
    type Item = &'a Bytes;
    type IntoIter = std::slice::Iter<'a, Bytes>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_stays_small_and_keeps_its_metadata() {
        // Moved through every queue: the metadata must not make it bigger.
        assert!(std::mem::size_of::<Message>() <= 40);
        let mut props = Properties::new();
        props.push("User-Id", "alice").unwrap();
        let meta = Arc::new(props);
        let mut m = Message::from("body");
        m.set_metadata(meta.clone());
        assert_eq!(m.user_id(), Some(&b"alice"[..]));
        assert_eq!(m, Message::from("body"), "metadata is not compared");
        m.push_front("id");
        m.push("tail");
        assert_eq!(m.pop_front().as_deref(), Some(&b"id"[..]));
        assert_eq!(m.len(), 2);
        assert_eq!(m.property("user-id"), Some(&b"alice"[..]));
        assert_eq!(m.pop_front().as_deref(), Some(&b"body"[..]));
        assert_eq!(m.user_id(), Some(&b"alice"[..]));
        assert_eq!(m.frames().len(), 1);
        assert_eq!(Message::from("x").user_id(), None);
    }

    #[test]
    fn single_and_multi() {
        let m = Message::from("a");
        assert_eq!(m.len(), 1);
        assert_eq!(&m[0], b"a");
        let m: Message = ["a", "", "c"].into_iter().collect();
        assert_eq!(m.len(), 3);
        assert_eq!(m.byte_len(), 2);
        assert_eq!(&m[1], b"");
        assert_eq!(m.clone().into_frames().len(), 3);
    }

    #[test]
    fn push_and_push_front() {
        let mut m = Message::new();
        assert!(m.is_empty());
        m.push("b");
        m.push_front("a");
        m.push("c");
        let frames: Vec<&[u8]> = m.iter().map(|b| &b[..]).collect();
        assert_eq!(frames, vec![&b"a"[..], b"b", b"c"]);
    }

    #[test]
    fn pop_front_takes_frames_in_order() {
        let mut m: Message = ["a", "b", "c"].into_iter().collect();
        assert_eq!(m.pop_front().as_deref(), Some(&b"a"[..]));
        assert_eq!(m.pop_front().as_deref(), Some(&b"b"[..]));
        assert_eq!(m.len(), 1);
        assert_eq!(m.pop_front().as_deref(), Some(&b"c"[..]));
        assert!(m.is_empty());
        assert_eq!(m.pop_front(), None);
    }

    #[test]
    fn conversions_agree() {
        let a = Message::from(vec![Bytes::from_static(b"x")]);
        let b = Message::from(&b"x"[..]);
        let c = Message::from(String::from("x"));
        let d = Message::from(vec![b'x']);
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(c, d);
        assert_eq!(Message::from(Vec::<Bytes>::new()).len(), 0);
    }
}
