//! Security options on [`Socket`]: the mechanism (NULL, PLAIN, CURVE),
//! its role and credentials, and the ZAP domain. As in libzmq, they
//! apply to binds and connects made after they are set, and the role
//! (client or server) is independent of which side binds.

use bytes::Bytes;

use super::Socket;
use crate::zmtp::Mechanism;
use crate::{CurveKeyPair, CurvePublicKey, Error, Result};

impl Socket {
    /// Sets the security mechanism, role and credentials for the
    /// connections made from now on (default [`Mechanism::Null`]). Both
    /// peers must use the same mechanism, one as client and one as
    /// server (except NULL, which has no roles); a mismatch fails the
    /// handshake.
    ///
    /// The shorthands [`Socket::set_plain_server`],
    /// [`Socket::set_plain_client`], [`Socket::set_curve_server`] and
    /// [`Socket::set_curve_client`] do the same.
    ///
    /// Errors: [`Error::InvalidArgument`] for a PLAIN user name or
    /// password over 255 bytes.
    pub fn set_mechanism(&self, mechanism: Mechanism) -> Result<()> {
        if let Mechanism::PlainClient { username, password } = &mechanism
            && (username.len() > 255 || password.len() > 255)
        {
            return Err(Error::InvalidArgument(
                "a PLAIN user name or password is at most 255 bytes".into(),
            ));
        }
        let mut st = self.lock()?;
        st.options.mechanism = std::sync::Arc::new(mechanism);
        Ok(())
    }

    /// The security mechanism and role set for new connections.
    pub fn mechanism(&self) -> Mechanism {
        self.state.borrow().options.mechanism.as_ref().clone()
    }

    /// Makes this socket a PLAIN server (libzmq's `ZMQ_PLAIN_SERVER`):
    /// each client's user name and password go to the context's
    /// authenticator ([`crate::Authenticator`] or another ZAP handler),
    /// and without one every client is refused (libzmq 4.3 admits every
    /// client then). `false` returns to NULL.
    /// PLAIN sends passwords in clear text.
    pub fn set_plain_server(&self, on: bool) -> Result<()> {
        self.set_mechanism(if on {
            Mechanism::PlainServer
        } else {
            Mechanism::Null
        })
    }

    /// Makes this socket a PLAIN client with these credentials (libzmq's
    /// `ZMQ_PLAIN_USERNAME` and `ZMQ_PLAIN_PASSWORD`), each at most 255
    /// bytes.
    pub fn set_plain_client(
        &self,
        username: impl Into<Bytes>,
        password: impl Into<Bytes>,
    ) -> Result<()> {
        self.set_mechanism(Mechanism::PlainClient {
            username: username.into(),
            password: password.into(),
        })
    }

    /// Makes this socket a CURVE server with its long-term key pair
    /// (libzmq's `ZMQ_CURVE_SERVER` with `ZMQ_CURVE_SECRETKEY`). Clients
    /// need its public key. The context's authenticator, if any, checks
    /// each client's public key; without one any client that knows ours
    /// gets in (encryption without authentication, as in libzmq).
    pub fn set_curve_server(&self, keys: &CurveKeyPair) -> Result<()> {
        self.set_mechanism(Mechanism::CurveServer { keys: keys.clone() })
    }

    /// Makes this socket a CURVE client with its own long-term key pair
    /// and the server's public key (libzmq's `ZMQ_CURVE_PUBLICKEY`,
    /// `ZMQ_CURVE_SECRETKEY` and `ZMQ_CURVE_SERVERKEY`).
    pub fn set_curve_client(&self, keys: &CurveKeyPair, server_key: &CurvePublicKey) -> Result<()> {
        self.set_mechanism(Mechanism::CurveClient {
            keys: keys.clone(),
            server_key: *server_key,
        })
    }

    /// Sets the ZAP domain sent to the authenticator (libzmq's
    /// `ZMQ_ZAP_DOMAIN`, at most 255 bytes). A NULL socket asks the
    /// authenticator about each peer only when it has a domain; PLAIN and
    /// CURVE servers always ask.
    pub fn set_zap_domain(&self, domain: impl Into<Bytes>) -> Result<()> {
        let domain = domain.into();
        if domain.len() > 255 {
            return Err(Error::InvalidArgument(
                "a ZAP domain is at most 255 bytes".into(),
            ));
        }
        let mut st = self.lock()?;
        st.options.zap_domain = domain;
        Ok(())
    }

    /// The ZAP domain.
    pub fn zap_domain(&self) -> Bytes {
        self.state.borrow().options.zap_domain.clone()
    }
}
