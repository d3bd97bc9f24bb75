//! Command bodies and READY metadata: `Command::decode` and
//! `Properties::decode` on arbitrary bytes, with
//! `decode(encode(cmd)) == cmd` for every command parsed, and round trips
//! of commands built from the input.
//!
//! Shared by the cargo-fuzz target `command` and by the corpus replay test
//! `tests/fuzz_corpus.rs`.

use brokerless::ProtocolError;
use brokerless::zmtp::command::{
    CANCEL, ERROR, JOIN, LEAVE, MAX_ERROR_REASON, MAX_NAME_LEN, MAX_PING_CONTEXT, PING, PONG,
    READY, SUBSCRIBE,
};
use brokerless::zmtp::{Command, Properties};
use bytes::{Bytes, BytesMut};

const KNOWN: [&[u8]; 8] = [READY, ERROR, PING, PONG, SUBSCRIBE, CANCEL, JOIN, LEAVE];

/// Checks every invariant on one input; panics on a violation.
pub fn run(data: &[u8]) {
    check_command(data);
    check_properties(data);
    built_round_trip(data);
}

fn encode(cmd: &Command) -> Bytes {
    let mut buf = BytesMut::new();
    cmd.encode(&mut buf);
    assert_eq!(buf.len(), cmd.encoded_len(), "encoded_len of {cmd:?}");
    buf.freeze()
}

fn check_command(data: &[u8]) {
    match Command::decode(Bytes::copy_from_slice(data)) {
        Ok(cmd) => {
            let name_len = usize::from(data[0]);
            assert!(name_len >= 1);
            assert_eq!(cmd.name(), &data[1..1 + name_len]);
            assert!(matches!(cmd, Command::Unknown { .. }) != KNOWN.contains(&cmd.name()));
            let encoded = encode(&cmd);
            assert_eq!(Command::decode(encoded.clone()).as_ref(), Ok(&cmd));
            // Only ERROR drops bytes (those after its reason).
            if let Command::Error { reason } = &cmd {
                assert!(reason.len() <= MAX_ERROR_REASON);
                assert_eq!(&encoded[..], &data[..encoded.len()]);
            } else {
                assert_eq!(&encoded[..], data);
            }
            match &cmd {
                Command::Ready(props) => check_get(props),
                Command::Ping { context, .. } => {
                    let Command::Pong { context: echo } = Command::pong_for(context) else {
                        panic!("pong_for made no PONG");
                    };
                    assert_eq!(echo.len(), context.len().min(MAX_PING_CONTEXT));
                    assert_eq!(&echo[..], &context[..echo.len()]);
                }
                _ => {}
            }
        }
        Err(ProtocolError::MalformedCommand { .. }) => {}
        Err(ProtocolError::MalformedMetadata) => {
            assert!(data.len() > READY.len() && data[1..].starts_with(READY));
        }
        Err(e) => panic!("unexpected command error {e:?}"),
    }
}

fn check_properties(data: &[u8]) {
    match Properties::decode(Bytes::copy_from_slice(data)) {
        Ok(props) => {
            let mut buf = BytesMut::new();
            props.encode(&mut buf);
            assert_eq!(&buf[..], data, "properties re-encode exactly");
            assert_eq!(props.encoded_len(), data.len());
            assert_eq!(props.iter().count(), props.len());
            assert_eq!(props.is_empty(), data.is_empty());
            let held: usize = props.iter().map(|(n, v)| n.len() + v.len()).sum();
            assert!(held + 5 * props.len() == data.len());
            check_get(&props);
        }
        Err(e) => assert_eq!(e, ProtocolError::MalformedMetadata),
    }
}

/// `get` agrees with a naive model: the first name equal ignoring ASCII
/// case.
fn check_get(props: &Properties) {
    for (name, _) in props.iter() {
        assert!(!name.is_empty() && name.len() <= MAX_NAME_LEN);
        let model = props
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v);
        assert_eq!(props.get(name), model);
        let upper = name.to_ascii_uppercase();
        assert_eq!(props.get(&upper), model);
    }
}

/// Takes bytes from the front of the input.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn bytes(&mut self, n: usize) -> Bytes {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Bytes::copy_from_slice(head)
    }
}

/// Builds a command from the input and checks `decode(encode(cmd))`.
fn built_round_trip(data: &[u8]) {
    let mut r = Reader(data);
    let kind = r.byte() % 9;
    let cmd = match kind {
        0 => {
            let mut props = Properties::new();
            for _ in 0..r.byte() % 8 {
                let name_len = usize::from(r.byte());
                let name = r.bytes(name_len);
                let value_len = usize::from(r.byte());
                let value = r.bytes(value_len);
                let valid = !name.is_empty();
                let before = props.len();
                assert_eq!(props.push(name, value).is_ok(), valid);
                assert_eq!(props.len(), before + usize::from(valid));
            }
            Command::Ready(props)
        }
        1 => {
            let len = usize::from(r.byte()) * 2;
            Command::Error {
                reason: r.bytes(len),
            }
        }
        2 => {
            let ttl = u16::from_be_bytes([r.byte(), r.byte()]);
            let len = usize::from(r.byte() % 32);
            Command::Ping {
                ttl,
                context: r.bytes(len),
            }
        }
        3 => {
            let len = usize::from(r.byte() % 32);
            Command::Pong {
                context: r.bytes(len),
            }
        }
        4 => Command::Subscribe(r.bytes(usize::MAX)),
        5 => Command::Cancel(r.bytes(usize::MAX)),
        6 => Command::Join(r.bytes(usize::MAX)),
        7 => Command::Leave(r.bytes(usize::MAX)),
        _ => {
            let len = usize::from(r.byte());
            let name = r.bytes(len);
            if name.is_empty() || KNOWN.contains(&&name[..]) {
                return;
            }
            Command::Unknown {
                name,
                data: r.bytes(usize::MAX),
            }
        }
    };
    let decoded = Command::decode(encode(&cmd));
    match cmd {
        // An ERROR reason is sent cut to 255 octets.
        Command::Error { reason } => assert_eq!(
            decoded,
            Ok(Command::Error {
                reason: reason.slice(..reason.len().min(MAX_ERROR_REASON))
            })
        ),
        cmd => assert_eq!(decoded, Ok(cmd)),
    }
}
