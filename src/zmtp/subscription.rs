//! Subscriptions on the wire (RFC 29 and RFC 37).
//!
//! ZMTP 3.1: "A SUBSCRIBE command ... `%d9 "SUBSCRIBE" subscription`" and
//! "A CANCEL command ... `%d6 "CANCEL" subscription`". ZMTP 3.0 (and
//! libzmq's XPUB/XSUB applications): an ordinary one-frame message whose
//! first byte is 1 (subscribe) or 0 (cancel), followed by the topic.
//! Sockets exchange subscriptions with their engines in the message form;
//! the connection turns them into the form the peer's version asks for.

use bytes::{BufMut, Bytes, BytesMut};

use crate::Message;

/// A subscription change: subscribe (`true`) or cancel, and its topic.
///
/// ```
/// use brokerless::Message;
/// use brokerless::zmtp::Subscription;
///
/// let sub = Subscription { subscribe: true, topic: "weather".into() };
/// let msg = sub.to_message(); // the ZMTP 3.0 and XPUB form
/// assert_eq!(&msg[0], b"\x01weather");
/// assert_eq!(Subscription::from_message(&msg), Some(sub));
///
/// let cancel = Subscription::from_message(&Message::from("\x00weather"));
/// assert_eq!(cancel.map(|c| c.subscribe), Some(false));
/// // An ordinary message is none.
/// assert_eq!(Subscription::from_message(&Message::from("weather")), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Subscribe (`true`) or cancel (`false`).
    pub subscribe: bool,
    /// The topic prefix.
    pub topic: Bytes,
}

impl Subscription {
    /// The change carried by a one-frame message starting with 1 or 0, if
    /// `msg` is one.
    pub fn from_message(msg: &Message) -> Option<Subscription> {
        let [frame] = msg.frames() else {
            return None;
        };
        let subscribe = match frame.first()? {
            1 => true,
            0 => false,
            _ => return None,
        };
        Some(Subscription {
            subscribe,
            topic: frame.slice(1..),
        })
    }

    /// The message form: one frame, 1 or 0 then the topic.
    pub fn to_message(&self) -> Message {
        let mut frame = BytesMut::with_capacity(1 + self.topic.len());
        frame.put_u8(u8::from(self.subscribe));
        frame.put_slice(&self.topic);
        Message::from(frame.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_form_round_trips() {
        for (subscribe, topic) in [(true, &b"A"[..]), (false, b""), (true, b"\x00\x01")] {
            let s = Subscription {
                subscribe,
                topic: Bytes::copy_from_slice(topic),
            };
            let m = s.to_message();
            assert_eq!(m[0][0], u8::from(subscribe));
            assert_eq!(Subscription::from_message(&m), Some(s));
        }
    }

    #[test]
    fn other_messages_are_not_subscriptions() {
        assert_eq!(Subscription::from_message(&Message::from("\x02A")), None);
        assert_eq!(Subscription::from_message(&Message::from("")), None);
        let two: Message = ["\x01A", "x"].into_iter().collect();
        assert_eq!(Subscription::from_message(&two), None);
    }
}
