//! One change sent on its own, and what happens when its reply is lost.
//!
//! The client never resends a mutation (see `api::Endpoint::mutating`); this is where it is
//! decided. After a failure that may have been applied (a 5xx, a lost connection) the object is
//! read back — after the client's backoff — and the change accepted if Descope already holds it;
//! otherwise it is resent, at most `attempts` times. Any error met on the way (a resend's
//! "already exists", with whatever status) is also checked against a read-back before the change
//! is failed, so no particular status code is relied upon.

use serde_json::Value;

use super::readback::{self, Found, Listing, describe};
use super::request::{self, Sent};
use super::scheduler::Ctx;
use crate::api::ApiError;
use crate::plan::Change;

/// Applies `change` alone; `Ok` holds what Descope holds now (see `ApplyObserver::applied`).
pub(crate) async fn apply(ctx: &Ctx<'_>, change: &Change) -> Result<Option<Value>, ApiError> {
    let mut failures = 0u32;
    loop {
        let sent = request::send(ctx.provider, &ctx.tenants, change).await;
        ctx.count(&sent);
        let err = match sent {
            Ok(Sent::Holds(live)) => return Ok(live),
            Ok(Sent::Created) => return Ok(created(ctx, change).await),
            Err(err) if !err.was_sent() => return Err(err),
            Err(err) => err,
        };
        failures += 1;
        let resend = resendable(&err) && failures <= ctx.options.attempts;
        if resend {
            ctx.provider.resend_pause(failures).await;
        }
        match readback::check(ctx.provider, change).await {
            Ok(Found::Matches(live)) => {
                ctx.note(format!(
                    "{}: {err}; read back: Descope already holds the change, accepted",
                    describe(change)
                ));
                return Ok(live);
            }
            Ok(Found::Differs) => {}
            Err(read) => ctx.note(format!(
                "{}: cannot read it back after {err}: {read}",
                describe(change)
            )),
        }
        if !resend {
            return Err(err);
        }
        ctx.note(format!(
            "{}: {err}; read back: not applied, resending ({failures} of {})",
            describe(change),
            ctx.options.attempts
        ));
    }
}

/// A failure after which sending again is safe once a read-back showed the change is not there:
/// the reply may have been lost, or Descope kept answering 429 (never applied).
pub(crate) fn resendable(err: &ApiError) -> bool {
    err.may_have_been_applied() || matches!(err, ApiError::RateLimited { .. })
}

/// The live body of a role or permission just created, with the id Descope gave it. Descope said
/// it is created, so a failed read-back does not undo that: the sent body is reported instead and
/// the id arrives with the next refresh.
pub(crate) async fn created(ctx: &Ctx<'_>, change: &Change) -> Option<Value> {
    match Listing::load(ctx.provider, change.kind(), &[change]).await {
        Ok(listing) => created_in(ctx, &listing, change),
        Err(e) => {
            ctx.note(format!(
                "{}: created, but reading it back failed: {e}; its Descope id is recorded at the next refresh",
                describe(change)
            ));
            change.after.clone()
        }
    }
}

pub(crate) fn created_in(ctx: &Ctx<'_>, listing: &Listing, change: &Change) -> Option<Value> {
    match listing.find(change) {
        Some(live) => Some(live.clone()),
        None => {
            ctx.note(format!(
                "{}: created, but not found when read back; its Descope id is recorded at the next refresh",
                describe(change)
            ));
            change.after.clone()
        }
    }
}
