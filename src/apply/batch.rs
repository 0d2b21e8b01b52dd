//! Independent role or permission changes of one kind and one action, coalesced into one batch
//! call (docs/reference.md, `apply`). Creates are read back once per batch for the ids Descope
//! gave.
//!
//! A batch that fails is read back once: members Descope already holds are accepted (a batch may
//! have been applied with its reply lost, or partly applied), and the others go back to the
//! scheduler to be sent one by one, so that only a member Descope really refuses fails.

use super::readback::{Found, Listing};
use super::rebase::rebase_role;
use super::request::{self, BatchKey};
use super::scheduler::{Ctx, UnitDone, scheduled};
use super::single;
use crate::api::ApiError;
use crate::plan::{Change, ChangeId, Plan};

/// Sends `members` (changes of the plan, all of batch `key`) as one call.
pub(crate) async fn apply(
    ctx: &Ctx<'_>,
    plan: &Plan,
    key: &BatchKey,
    members: &[ChangeId],
) -> UnitDone {
    let mut done = UnitDone::default();
    let current = match key {
        BatchKey::RoleUpdate => match roles_now(ctx, plan, members).await {
            Some(listing) => Some(listing),
            None => {
                done.singles.extend_from_slice(members);
                return done;
            }
        },
        _ => None,
    };
    let (result, sent, bodies_sent) =
        send(ctx, plan, key, members, current.as_ref(), &mut done).await;
    let Some(result) = result else {
        return done;
    };
    ctx.count(&result);
    match result {
        Ok(()) if key.is_create() => read_back_created(ctx, plan, key, &sent, &mut done).await,
        Ok(()) if key.is_delete() => done.results.extend(sent.iter().map(|&i| (i, Ok(None)))),
        Ok(()) if !bodies_sent.is_empty() => done.results.extend(
            sent.iter()
                .copied()
                .zip(bodies_sent)
                .map(|(i, b)| (i, Ok(b))),
        ),
        Ok(()) => done.results.extend(
            sent.iter()
                .map(|&i| (i, Ok(scheduled(plan, i).after.clone()))),
        ),
        Err(err) => fall_back(ctx, plan, key, &sent, err, &mut done).await,
    }
    done
}

/// The batch's one call: the members whose body cannot be built fail alone (in `done`); the
/// rest are sent. Returns the call's result (`None`: nothing was sent), the members sent, and
/// for role updates the body each was sent with (rebased on the role as Descope holds it now,
/// `current`).
async fn send(
    ctx: &Ctx<'_>,
    plan: &Plan,
    key: &BatchKey,
    members: &[ChangeId],
    current: Option<&Listing>,
    done: &mut UnitDone,
) -> (
    Option<Result<(), ApiError>>,
    Vec<ChangeId>,
    Vec<Option<serde_json::Value>>,
) {
    let change = |id: ChangeId| scheduled(plan, id);
    // Members whose body cannot be built fail alone; the rest are sent.
    let mut sent: Vec<ChangeId> = Vec::with_capacity(members.len());
    macro_rules! bodies {
        ($build:expr) => {{
            let mut out = Vec::with_capacity(members.len());
            for &i in members {
                match $build(change(i)) {
                    Ok(body) => {
                        out.push(body);
                        sent.push(i);
                    }
                    Err(e) => done.results.push((i, Err(e))),
                }
            }
            out
        }};
    }
    macro_rules! call {
        ($b:ident, $call:expr) => {
            match $b.is_empty() {
                true => None,
                false => Some($call.await),
            }
        };
    }
    let ok = |c: &Change| Ok::<_, ApiError>(request::current_name(c));
    let p = ctx.provider;
    let mut bodies_sent: Vec<Option<serde_json::Value>> = Vec::new();
    let result = match key {
        BatchKey::PermissionCreate => {
            let b = bodies!(request::permission_create);
            call!(b, p.create_permissions(&b))
        }
        BatchKey::PermissionUpdate => {
            let b = bodies!(request::permission_update);
            call!(b, p.update_permissions(&b))
        }
        BatchKey::PermissionDelete => {
            let b = bodies!(ok);
            call!(b, p.delete_permissions(&b))
        }
        BatchKey::RoleCreate => {
            let b = bodies!(request::role_create);
            call!(b, p.create_roles(&b))
        }
        BatchKey::RoleUpdate => {
            let mut against = |c: &Change| {
                let body = current
                    .and_then(|l| l.find(c))
                    .map(|now| rebase_role(c, now));
                let request = request::role_update_from(c, body.as_ref().or(c.after.as_ref()))?;
                bodies_sent.push(body.or_else(|| c.after.clone()));
                Ok::<_, ApiError>(request)
            };
            let b = bodies!(against);
            call!(b, p.update_roles(&b))
        }
        BatchKey::RoleDelete { tenant } => {
            let b = bodies!(ok);
            call!(b, p.delete_roles(&b, tenant.as_deref()))
        }
    };
    (result, sent, bodies_sent)
}

/// After a batch of creates: one read for the Descope ids of the members, or, when that fails
/// (said in a note), their bodies as sent, their ids recorded at the next refresh.
async fn read_back_created(
    ctx: &Ctx<'_>,
    plan: &Plan,
    key: &BatchKey,
    sent: &[ChangeId],
    done: &mut UnitDone,
) {
    let members: Vec<&Change> = sent.iter().map(|&i| scheduled(plan, i)).collect();
    match Listing::load(ctx.provider, key.kind(), &members).await {
        Ok(listing) => done.results.extend(
            sent.iter()
                .map(|&i| (i, Ok(single::created_in(ctx, &listing, scheduled(plan, i))))),
        ),
        Err(e) => {
            ctx.note(format!(
                "a batch of {} {} creates succeeded, but reading them back failed: {e}; their Descope ids are recorded at the next refresh",
                sent.len(),
                key.kind()
            ));
            done.results.extend(
                sent.iter()
                    .map(|&i| (i, Ok(scheduled(plan, i).after.clone()))),
            );
        }
    }
}

/// Role updates replace the whole role: each is sent against the role as Descope holds it now
/// (`rebase`), read with one listing for the batch. `None` when that read failed (said in a
/// note): the members then go one by one, each reading its role itself.
async fn roles_now(ctx: &Ctx<'_>, plan: &Plan, members: &[ChangeId]) -> Option<Listing> {
    let changes: Vec<&Change> = members.iter().map(|&i| scheduled(plan, i)).collect();
    match Listing::load(ctx.provider, crate::model::ResourceKind::Role, &changes).await {
        Ok(listing) => Some(listing),
        Err(e) => {
            ctx.note(format!(
                "cannot read the roles of a batch of {} updates before sending it: {e}; sending them one by one",
                members.len()
            ));
            None
        }
    }
}

/// After a failed batch: accept the members Descope already holds, send the others alone.
async fn fall_back(
    ctx: &Ctx<'_>,
    plan: &Plan,
    key: &BatchKey,
    sent: &[ChangeId],
    err: ApiError,
    done: &mut UnitDone,
) {
    ctx.note(format!(
        "a batch of {} {} {}s failed: {err}; reading back which took effect, then sending the rest one by one",
        sent.len(),
        key.kind(),
        key.verb()
    ));
    if !err.was_sent() {
        done.singles.extend_from_slice(sent);
        return;
    }
    if single::resendable(&err) {
        ctx.provider.resend_pause(1).await;
    }
    let members: Vec<&Change> = sent.iter().map(|&id| scheduled(plan, id)).collect();
    let listing = match Listing::load(ctx.provider, key.kind(), &members).await {
        Ok(listing) => listing,
        Err(read) => {
            ctx.note(format!("cannot read back the failed batch: {read}"));
            done.singles.extend_from_slice(sent);
            return;
        }
    };
    for &i in sent {
        match listing.check(scheduled(plan, i)) {
            Found::Matches(live) => done.results.push((i, Ok(live))),
            Found::Differs => done.singles.push(i),
        }
    }
}
