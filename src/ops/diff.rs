//! `diff` (docs/reference.md, `diff`): two environments compared resource by resource — their
//! configuration (offline: no key needed), or with `live` their live projects, each read in full
//! through its own connection. The comparison itself is `plan::compare`; this only gathers both
//! sides. Never prints.

use std::collections::BTreeMap;

use serde_json::Value;

use super::live::RefreshObserver;
use super::{Connection, Context};
use crate::config::Project;
use crate::error::Result;
use crate::model::{DesiredState, ResourceAddr, attrs};
use crate::plan::compare::{Comparison, Side, compare};

/// The configuration of `a` and `b` compared. Each is also loaded with its placeholders kept as
/// written, so a value that differs only by what a variable renders to is told apart.
pub(crate) fn diff_desired(project: &Project, a: &DesiredState, b: &DesiredState) -> Comparison {
    compare(&desired_side(project, a), &desired_side(project, b))
}

fn desired_side(project: &Project, desired: &DesiredState) -> Side {
    let objects: BTreeMap<ResourceAddr, Value> = attrs::desired(desired).into_iter().collect();
    let raw = crate::config::load_unrendered(project, &desired.environment).desired;
    // Both loads read the same tree, so their resources come in the same order.
    let unrendered = raw.and_then(|raw| {
        let (rendered, written) = (attrs::desired(desired), attrs::desired(&raw));
        let aligned = rendered.len() == written.len()
            && rendered
                .iter()
                .zip(&written)
                .all(|((a, _), (b, _))| a.kind() == b.kind());
        aligned.then(|| {
            rendered
                .into_iter()
                .zip(written)
                .map(|((addr, _), (_, written))| (addr, written))
                .collect()
        })
    });
    Side {
        objects,
        unrendered,
    }
}

/// The live projects of `a` and `b` compared: every object of each (flows and the theme
/// included, managed or not).
pub(crate) async fn diff_live(
    ctx: &Context<'_>,
    a: &DesiredState,
    b: &DesiredState,
    observer: &dyn RefreshObserver,
) -> Result<Comparison> {
    let side = |desired: &DesiredState| {
        let desired = desired.clone();
        async move {
            let connection = Connection::open(&desired, ctx).await?;
            let snapshot = super::live::refresh_everything(
                &connection.client,
                desired.parallelism.max(1) as usize,
                observer,
            )
            .await?;
            Ok::<_, crate::error::Error>(Side {
                objects: snapshot
                    .objects
                    .into_iter()
                    .map(|(addr, o)| (addr, o.attributes))
                    .collect(),
                unrendered: None,
            })
        }
    };
    if a.environment == b.environment {
        // One project against itself: read once (an emulated environment's data file admits one
        // emulator at a time, see `emulator/data_lock.rs`).
        let x = side(a).await?;
        let y = Side {
            objects: x.objects.clone(),
            unrendered: None,
        };
        return Ok(compare(&x, &y));
    }
    let (x, y) = tokio::try_join!(side(a), side(b))?;
    Ok(compare(&x, &y))
}
