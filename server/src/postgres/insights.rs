//! Postgres storage of the insights (see [`crate::insights::store`]). Same base tables as the
//! SQLite store (`visits` with each visit's folded state, `events` once each), but the cells are
//! computed when read, by one `GROUP BY` over the offer's orders (index `orders_offer_created`)
//! and visits (`visits_offer_day`) of the range, rather than kept by triggers: nothing extra on
//! any write path, and no derived table to rebuild. A report's cost grows with the orders of its
//! range (the SQLite store's does not). The same SQL shape as the SQLite store's fact rows; the
//! insights integration tests (`tests/insights.rs`, exact figures through the real API) run on both
//! stores.

use momentum_core::metrics::{ByLine, Costs};
use momentum_core::quote::LineKind;

use super::{fail, strings, Fail, PostgresStore};
use crate::insights::store::*;
use crate::store::StoreResult;

const LINE_KINDS: [LineKind; 4] = [
    LineKind::Product,
    LineKind::Bump,
    LineKind::Upsell,
    LineKind::Downsell,
];

const COST_KEYS: [&str; 3] = [
    "fee_basis_points",
    "fee_fixed_minor",
    "support_per_refund_minor",
];

/// The money shape of each paid order of offer `$1` created in `[$2, $3)` (unix seconds), the
/// columns of an [`OrderCell`] less the count; `-1` stands for absent. A line counts when its
/// charge succeeded, with its VAT when VAT is added on top; a refund once the provider made it.
fn order_shapes() -> String {
    let paid = |kind: &str| {
        format!(
            "COALESCE((SELECT l.amount + CASE WHEN o.tax_mode = 'exclusive' THEN l.tax_amount ELSE 0 END
                       FROM order_lines l JOIN charges c ON c.id = l.charge_id
                       WHERE l.order_id = o.id AND l.id = '{kind}' AND c.status = 'succeeded'), -1) AS paid_{kind}"
        )
    };
    let refunded = |kind: &str| {
        format!(
            "COALESCE((SELECT r.amount FROM refunds r
                       WHERE r.order_id = o.id AND r.line_id = '{kind}' AND r.gateway_ref IS NOT NULL), 0) AS refunded_{kind}"
        )
    };
    let lines = LINE_KINDS.map(|k| paid(k.as_str())).join(", ");
    let refunds = LINE_KINDS.map(|k| refunded(k.as_str())).join(", ");
    format!(
        "SELECT COALESCE(o.variant, '') AS variant, o.holdout, o.currency, o.created_at / 86400 AS day, o.exit_offer,
                {lines},
                cp.amount AS primary_charge, COALESCE(cu.amount, -1) AS upsell_charge, COALESCE(cd.amount, -1) AS downsell_charge,
                {refunds}
         FROM orders o
         JOIN charges cp ON cp.order_id = o.id AND cp.kind = 'primary' AND cp.status = 'succeeded'
         LEFT JOIN charges cu ON cu.order_id = o.id AND cu.kind = 'upsell' AND cu.status = 'succeeded'
         LEFT JOIN charges cd ON cd.order_id = o.id AND cd.kind = 'downsell' AND cd.status = 'succeeded'
         WHERE o.offer_id = $1 AND o.created_at >= $2 AND o.created_at < $3"
    )
}

fn opt_amount(value: i64) -> Option<i64> {
    (value >= 0).then_some(value)
}

fn variant_of(stored: String) -> Option<String> {
    (!stored.is_empty()).then_some(stored)
}

fn count(n: i64) -> Result<u64, Fail> {
    u64::try_from(n).map_err(|_| fail(format!("bad count {n}")))
}

impl InsightsStore for PostgresStore {
    fn record_events(
        &self,
        visit: &VisitKey<'_>,
        events: &[NewEvent],
        now: i64,
    ) -> StoreResult<Recorded> {
        if events.is_empty() {
            return Ok(Recorded::default());
        }
        let today = now.div_euclid(86_400);
        let variant = visit.variant.unwrap_or("");
        self.write(|tx| {
            tx.execute(
                "INSERT INTO visits (visit_key, offer_id, variant, holdout, currency, day, steps, bump_at, bump_checked, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, NULL, FALSE, $7) ON CONFLICT DO NOTHING",
                &[&visit.visit_id, &visit.offer_id, &variant, &visit.holdout, &visit.currency, &today, &now],
            )?;
            // Batches of one visit take turns on its row.
            let row = tx.query_one(
                "SELECT id, day, steps, bump_at, bump_checked FROM visits
                 WHERE visit_key = $1 AND offer_id = $2 AND variant = $3 AND holdout = $4 AND currency = $5
                 FOR UPDATE",
                &[&visit.visit_id, &visit.offer_id, &variant, &visit.holdout, &visit.currency],
            )?;
            let id: i64 = row.try_get(0)?;
            let old = VisitState {
                day: row.try_get(1)?,
                steps: row.try_get(2)?,
                bump_at: row.try_get(3)?,
                bump_checked: row.try_get(4)?,
            };
            let mut state = old;
            let mut recorded = Recorded::default();
            for e in events {
                let code = i64::from(step_code(e.step));
                if tx.execute(
                    "INSERT INTO events (visit, step, at, checked) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    &[&id, &code, &e.at_ms, &e.checked],
                )? == 1
                {
                    recorded.inserted += 1;
                    state.fold(e.step, e.at_ms, e.checked);
                } else {
                    recorded.duplicates += 1;
                }
            }
            if state != old {
                tx.execute(
                    "UPDATE visits SET steps = $2, bump_at = $3, bump_checked = $4 WHERE id = $1",
                    &[&id, &state.steps, &state.bump_at, &state.bump_checked],
                )?;
            }
            Ok(recorded)
        })
    }

    fn insight_cells(
        &self,
        offer_id: &str,
        first_day: i32,
        last_day: i32,
    ) -> StoreResult<(Vec<OrderCell>, Vec<VisitCell>)> {
        let from = i64::from(first_day) * 86_400;
        let until = (i64::from(last_day) + 1) * 86_400;
        let shape_cols = "variant, holdout, currency, day, exit_offer, paid_product, paid_bump, paid_upsell, paid_downsell,
                          primary_charge, upsell_charge, downsell_charge,
                          refunded_product, refunded_bump, refunded_upsell, refunded_downsell";
        let orders_sql = format!(
            "SELECT {shape_cols}, COUNT(*) FROM ({}) shapes GROUP BY {shape_cols}",
            order_shapes()
        );
        // One snapshot for both halves of the report.
        self.snapshot(|tx| {
            let orders = tx
                .query(&orders_sql, &[&offer_id, &from, &until])?
                .iter()
                .map(|r| {
                    let charges: [i64; 3] = [r.try_get(9)?, r.try_get(10)?, r.try_get(11)?];
                    let day: i64 = r.try_get(3)?;
                    Ok(OrderCell {
                        variant: variant_of(r.try_get(0)?),
                        holdout: r.try_get(1)?,
                        currency: r.try_get(2)?,
                        day: i32::try_from(day).map_err(|_| fail(format!("bad day {day}")))?,
                        exit_offer: r.try_get(4)?,
                        paid: ByLine {
                            product: opt_amount(r.try_get(5)?),
                            bump: opt_amount(r.try_get(6)?),
                            upsell: opt_amount(r.try_get(7)?),
                            downsell: opt_amount(r.try_get(8)?),
                        },
                        charges: charges.into_iter().filter_map(opt_amount).collect(),
                        refunded: ByLine {
                            product: r.try_get(12)?,
                            bump: r.try_get(13)?,
                            upsell: r.try_get(14)?,
                            downsell: r.try_get(15)?,
                        },
                        orders: count(r.try_get(16)?)?,
                    })
                })
                .collect::<Result<Vec<_>, Fail>>()?;
            let visits = tx
                .query(
                    "SELECT variant, holdout, currency, day, steps, bump_checked, COUNT(*)
                     FROM visits WHERE offer_id = $1 AND day BETWEEN $2 AND $3 AND steps <> 0
                     GROUP BY variant, holdout, currency, day, steps, bump_checked",
                    &[&offer_id, &i64::from(first_day), &i64::from(last_day)],
                )?
                .iter()
                .map(|r| {
                    let day: i64 = r.try_get(3)?;
                    Ok(VisitCell {
                        variant: variant_of(r.try_get(0)?),
                        holdout: r.try_get(1)?,
                        currency: r.try_get(2)?,
                        day: i32::try_from(day).map_err(|_| fail(format!("bad day {day}")))?,
                        steps: mask_steps(r.try_get(4)?),
                        bump_checked: r.try_get(5)?,
                        visits: count(r.try_get(6)?)?,
                    })
                })
                .collect::<Result<Vec<_>, Fail>>()?;
            Ok((orders, visits))
        })
    }

    fn costs(&self) -> StoreResult<Costs> {
        self.read(|c| {
            let mut values = [0i64; 3];
            for (key, value) in COST_KEYS.iter().zip(values.iter_mut()) {
                if let Some(r) = c.query_opt("SELECT value FROM settings WHERE key = $1", &[key])? {
                    *value = r.try_get(0)?;
                }
            }
            Ok(Costs {
                fee_basis_points: u32::try_from(values[0])
                    .map_err(|_| fail(format!("bad fee_basis_points {}", values[0])))?,
                fee_fixed_minor: values[1],
                support_per_refund_minor: values[2],
            })
        })
    }

    fn set_costs(&self, costs: &Costs, now: i64) -> StoreResult<()> {
        let values = [
            i64::from(costs.fee_basis_points),
            costs.fee_fixed_minor,
            costs.support_per_refund_minor,
        ];
        self.write(|tx| {
            for (key, value) in COST_KEYS.iter().zip(values) {
                tx.execute(
                    "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    &[key, &value, &now],
                )?;
            }
            Ok(())
        })
    }

    fn search_order_ids(&self, query: &str, limit: usize) -> StoreResult<Vec<String>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|c| {
            strings(c.query(
                "SELECT id FROM (
                     SELECT id, created_at, seq FROM orders WHERE id = $1
                     UNION
                     SELECT id, created_at, seq FROM orders WHERE lower(email COLLATE \"C\") = lower($1 COLLATE \"C\")) found
                 ORDER BY created_at DESC, seq DESC LIMIT $2",
                &[&query, &limit],
            )?)
        })
    }

    fn offer_ids(&self) -> StoreResult<Vec<String>> {
        self.read(|c| strings(c.query("SELECT id FROM offers ORDER BY id", &[])?))
    }

    fn export_rows(
        &self,
        offer_id: Option<&str>,
        from_secs: i64,
        until_secs: i64,
        limit: usize,
    ) -> StoreResult<Vec<ExportRow>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|c| {
            let rows = c.query(
                "SELECT o.id, o.created_at, o.offer_id, o.variant, o.holdout, o.exit_offer, COALESCE(p.status, 'pending'),
                        o.email, o.country, o.currency, o.tax_mode,
                        l.id, l.label, l.amount, l.tax_amount, l.charge_id, c.kind, c.status, c.amount,
                        r.id, r.amount, r.created_at
                 FROM orders o
                 JOIN order_lines l ON l.order_id = o.id
                 JOIN charges c ON c.id = l.charge_id
                 LEFT JOIN charges p ON p.order_id = o.id AND p.kind = 'primary'
                 LEFT JOIN refunds r ON r.order_id = o.id AND r.line_id = l.id AND r.gateway_ref IS NOT NULL
                 WHERE ($1::TEXT IS NULL OR o.offer_id = $1) AND o.created_at >= $2 AND o.created_at < $3
                 ORDER BY o.created_at, o.seq, l.position, l.seq
                 LIMIT $4",
                &[&offer_id, &from_secs, &until_secs, &limit],
            )?;
            rows.iter()
                .map(|r| {
                    let refund_id: Option<String> = r.try_get(19)?;
                    let refund = match refund_id {
                        Some(id) => Some((id, r.try_get(20)?, r.try_get(21)?)),
                        None => None,
                    };
                    Ok(ExportRow {
                        order_id: r.try_get(0)?,
                        created_at: r.try_get(1)?,
                        offer_id: r.try_get(2)?,
                        variant: r.try_get(3)?,
                        holdout: r.try_get(4)?,
                        exit_offer: r.try_get(5)?,
                        primary_status: r.try_get(6)?,
                        email: r.try_get(7)?,
                        country: r.try_get(8)?,
                        currency: r.try_get(9)?,
                        tax_mode: r.try_get(10)?,
                        line_id: r.try_get(11)?,
                        label: r.try_get(12)?,
                        amount: r.try_get(13)?,
                        tax_amount: r.try_get(14)?,
                        charge_id: r.try_get(15)?,
                        charge_kind: r.try_get(16)?,
                        charge_status: r.try_get(17)?,
                        charge_amount: r.try_get(18)?,
                        refund,
                    })
                })
                .collect::<Result<Vec<_>, Fail>>()
        })
    }
}
