//! The JSON of `GET /v1/admin/metrics`: core's [`Report`] as serde types (documented in
//! `docs/api.md`). Counts and money are integers (minor units); rates are fractions `0…1` and
//! means are minor units, both JSON numbers with a fraction.

use momentum_core::metrics::{
    ArmReport, ByLine, Comparison, Costs, DailyPoint, Estimate, Funnel, GroupReport, Mean,
    MoneyTotals, Rate, Report, SampleCount, Step, StepCounts,
};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::{arm_label, dates::format_day};

/// The creator's costs (`GET`/`PUT /v1/admin/costs`, and in each report group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostsJson {
    /// Payment fee per charge in hundredths of a percent (290 = 2.9 %), 0–10 000.
    pub fee_basis_points: u32,
    /// Fixed payment fee per charge, minor units.
    pub fee_fixed_minor: i64,
    /// What handling one refund costs, minor units.
    pub support_per_refund_minor: i64,
}

impl From<Costs> for CostsJson {
    fn from(c: Costs) -> CostsJson {
        CostsJson {
            fee_basis_points: c.fee_basis_points,
            fee_fixed_minor: c.fee_fixed_minor,
            support_per_refund_minor: c.support_per_refund_minor,
        }
    }
}

impl From<CostsJson> for Costs {
    fn from(c: CostsJson) -> Costs {
        Costs {
            fee_basis_points: c.fee_basis_points,
            fee_fixed_minor: c.fee_fixed_minor,
            support_per_refund_minor: c.support_per_refund_minor,
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportJson {
    /// The offer.
    pub offer_id: String,
    /// First day, `YYYY-MM-DD` (UTC).
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// Days are UTC days.
    pub time_zone: &'static str,
    /// The arm the others are compared with (`holdout`, `base`, `variant:<id>`).
    pub control: String,
    /// One per currency the offer sold in.
    pub groups: Vec<GroupJson>,
}

/// One currency of the offer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupJson {
    /// ISO 4217.
    pub currency: &'static str,
    /// Minor-unit digits.
    pub exponent: u8,
    /// Costs applied.
    pub costs: CostsJson,
    /// All arms together.
    pub totals: TotalsJson,
    /// Holdout, base, then variants by id.
    pub arms: Vec<ArmJson>,
}

/// All arms together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalsJson {
    /// Visits recorded.
    pub visits: u64,
    /// Paid orders.
    pub buyers: u64,
    /// Money.
    pub money: MoneyJson,
}

/// Money, minor units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MoneyJson {
    /// Paid.
    pub gross: i64,
    /// Refunded (for orders of the range, whenever issued).
    pub refunded: i64,
    /// Payment fees.
    pub fees: i64,
    /// Support cost of refunds.
    pub support: i64,
    /// Gross − refunded − fees − support.
    pub net: i64,
    /// Paid per line kind.
    pub gross_by_line: LinesJson,
    /// Refunded per line kind.
    pub refunded_by_line: LinesJson,
}

/// One amount per line kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinesJson {
    /// Product.
    pub product: i64,
    /// Order bump.
    pub bump: i64,
    /// Upsell.
    pub upsell: i64,
    /// Downsell.
    pub downsell: i64,
}

/// One arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmJson {
    /// `holdout`, `base` or `variant:<id>`.
    pub arm: String,
    /// The variant id, for a variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Funnel counts.
    pub funnel: FunnelJson,
    /// Money.
    pub money: MoneyJson,
    /// Buyers / visitors.
    pub conversion: RateJson,
    /// Orders with a bump / buyers.
    pub bump_attach: RateJson,
    /// Upsell accepted / offered (visits).
    pub upsell_acceptance: RateJson,
    /// Downsell accepted / offered (visits).
    pub downsell_acceptance: RateJson,
    /// Exit offer accepted / shown (visits).
    pub exit_offer_acceptance: RateJson,
    /// Orders with the exit discount / buyers.
    pub exit_discount_share: RateJson,
    /// Orders with a refund / buyers.
    pub refund_rate: RateJson,
    /// Gross / buyers.
    pub average_order_value: MeanJson,
    /// Net / buyers.
    pub net_per_buyer: MeanJson,
    /// Net / visitors: the headline.
    pub net_per_visitor: MeanJson,
    /// One point per day of the range.
    pub daily: Vec<DailyJson>,
}

/// Funnel counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelJson {
    /// Visits recorded.
    pub visits: u64,
    /// Denominator: `max(visits, buyers)`.
    pub visitors: u64,
    /// Visits per step, in funnel order.
    pub steps: StepsJson,
    /// Visits that ended with the bump ticked.
    pub bump_checked: u64,
    /// Paid orders.
    pub buyers: u64,
    /// Orders with a bump.
    pub with_bump: u64,
    /// Orders with an upsell.
    pub with_upsell: u64,
    /// Orders with a downsell.
    pub with_downsell: u64,
    /// Orders with the exit discount.
    pub with_exit_discount: u64,
    /// Orders with a refund.
    pub with_refund: u64,
}

/// Visits per step, serialized as an object in funnel order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepsJson(pub StepCounts);

impl Serialize for StepsJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Step::ALL.len()))?;
        for step in Step::ALL {
            map.serialize_entry(step.as_str(), &self.0.get(step))?;
        }
        map.end()
    }
}

/// `{"value", "low", "high"}` or `{"not_enough_data": {"of", "n", "needed"}}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EstimateJson(pub Estimate);

fn sample_name(of: SampleCount) -> &'static str {
    match of {
        SampleCount::Observations => "observations",
        SampleCount::Successes => "successes",
        SampleCount::Failures => "failures",
    }
}

impl Serialize for EstimateJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Estimate::Value { value, low, high } => {
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("value", &value)?;
                map.serialize_entry("low", &low)?;
                map.serialize_entry("high", &high)?;
                map.end()
            }
            Estimate::NotEnoughData { of, n, needed } => {
                #[derive(Serialize)]
                struct Short {
                    of: &'static str,
                    n: u64,
                    needed: u64,
                }
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry(
                    "not_enough_data",
                    &Short {
                        of: sample_name(of),
                        n,
                        needed,
                    },
                )?;
                map.end()
            }
        }
    }
}

/// `"is_control"`, `"no_control"`, or the difference as an [`EstimateJson`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComparisonJson(pub Comparison);

impl Serialize for ComparisonJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Comparison::IsControl => serializer.serialize_str("is_control"),
            Comparison::NoControl => serializer.serialize_str("no_control"),
            Comparison::Difference(e) => EstimateJson(e).serialize(serializer),
        }
    }
}

/// A proportion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateJson {
    /// Numerator.
    pub successes: u64,
    /// Denominator.
    pub trials: u64,
    /// Wilson 95 % interval.
    pub estimate: EstimateJson,
    /// Newcombe 95 % interval of this arm minus the control.
    pub vs_control: ComparisonJson,
}

/// A mean, minor units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeanJson {
    /// Observations.
    pub n: u64,
    /// Exact sum, minor units.
    pub sum: i64,
    /// Mean with its t 95 % interval.
    pub estimate: EstimateJson,
    /// Welch 95 % interval of this arm minus the control.
    pub vs_control: ComparisonJson,
}

/// One day of an arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyJson {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Visitors that day.
    pub visitors: u64,
    /// Buyers that day.
    pub buyers: u64,
    /// Net revenue of that day's orders.
    pub net: i64,
    /// That day's net revenue per buyer.
    pub net_per_buyer: EstimateJson,
    /// Buyers from the first day to this one.
    pub cumulative_buyers: u64,
    /// Net revenue per buyer from the first day to this one.
    pub cumulative_net_per_buyer: EstimateJson,
}

fn lines(l: &ByLine<i64>) -> LinesJson {
    LinesJson {
        product: l.product,
        bump: l.bump,
        upsell: l.upsell,
        downsell: l.downsell,
    }
}

fn money(m: &MoneyTotals) -> MoneyJson {
    MoneyJson {
        gross: m.gross,
        refunded: m.refunded,
        fees: m.fees,
        support: m.support,
        net: m.net,
        gross_by_line: lines(&m.gross_by_line),
        refunded_by_line: lines(&m.refunded_by_line),
    }
}

fn funnel(f: &Funnel) -> FunnelJson {
    FunnelJson {
        visits: f.visits,
        visitors: f.visitors,
        steps: StepsJson(f.steps),
        bump_checked: f.bump_checked,
        buyers: f.buyers,
        with_bump: f.with_bump,
        with_upsell: f.with_upsell,
        with_downsell: f.with_downsell,
        with_exit_discount: f.with_exit_discount,
        with_refund: f.with_refund,
    }
}

fn rate(r: &Rate) -> RateJson {
    RateJson {
        successes: r.successes,
        trials: r.trials,
        estimate: EstimateJson(r.estimate),
        vs_control: ComparisonJson(r.vs_control),
    }
}

fn mean(m: &Mean) -> MeanJson {
    MeanJson {
        n: m.n,
        sum: m.sum,
        estimate: EstimateJson(m.estimate),
        vs_control: ComparisonJson(m.vs_control),
    }
}

fn daily(d: &DailyPoint) -> DailyJson {
    DailyJson {
        day: format_day(d.day),
        visitors: d.visitors,
        buyers: d.buyers,
        net: d.net,
        net_per_buyer: EstimateJson(d.net_per_buyer),
        cumulative_buyers: d.cumulative_buyers,
        cumulative_net_per_buyer: EstimateJson(d.cumulative_net_per_buyer),
    }
}

fn arm(a: &ArmReport) -> ArmJson {
    ArmJson {
        arm: arm_label(&a.arm),
        variant: match &a.arm {
            momentum_core::metrics::Arm::Variant(id) => Some(id.clone()),
            _ => None,
        },
        funnel: funnel(&a.funnel),
        money: money(&a.money),
        conversion: rate(&a.conversion),
        bump_attach: rate(&a.bump_attach),
        upsell_acceptance: rate(&a.upsell_acceptance),
        downsell_acceptance: rate(&a.downsell_acceptance),
        exit_offer_acceptance: rate(&a.exit_offer_acceptance),
        exit_discount_share: rate(&a.exit_discount_share),
        refund_rate: rate(&a.refund_rate),
        average_order_value: mean(&a.average_order_value),
        net_per_buyer: mean(&a.net_per_buyer),
        net_per_visitor: mean(&a.net_per_visitor),
        daily: a.daily.iter().map(daily).collect(),
    }
}

fn group(g: &GroupReport) -> GroupJson {
    GroupJson {
        currency: g.currency.code(),
        exponent: g.currency.exponent(),
        costs: g.costs.into(),
        totals: TotalsJson {
            visits: g.totals.visits,
            buyers: g.totals.buyers,
            money: money(&g.totals.money),
        },
        arms: g.arms.iter().map(arm).collect(),
    }
}

/// The JSON of `report` for `offer_id`.
pub fn report_json(offer_id: &str, report: &Report) -> ReportJson {
    ReportJson {
        offer_id: offer_id.to_owned(),
        from: format_day(report.range.first()),
        to: format_day(report.range.last()),
        time_zone: "UTC",
        control: arm_label(&report.control),
        groups: report.groups.iter().map(group).collect(),
    }
}
