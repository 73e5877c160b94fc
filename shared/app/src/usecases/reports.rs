//! Reports as CSV, fit to open in a spreadsheet or hand to a collection agency.
//!
//! - [`escalated_csv`] (`GET /v1/reports/escalated`, `cobro export escalated`): every
//!   invoice escalated and still owed, with the client's tax id, the amounts and every
//!   notice sent, dated.
//! - [`late_fees_csv`] (`GET /v1/reports/late-fees`): the penalty log, every late fee charged.
//! - [`promises`] (`GET /v1/reports/promises`): promises kept and broken (and broken plans),
//!   overall and per client, with each broken one.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use cobro_domain::{
    ClientId, InvoiceId, InvoiceStatus, Locale, Money, Stage, StageRecord, dunning, ledger,
};
use cobro_store::{PageRequest, StageLog};
use rust_decimal::Decimal;
use serde::Serialize;

use super::Error;
use crate::App;

/// Every done stage of one log, newest first.
pub async fn whole_log(app: &App, log: StageLog) -> Result<Vec<StageRecord>, Error> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(cobro_store::MAX_PAGE);
    loop {
        let p = app.store.stage_log(log, &page).await?;
        all.extend(p.items);
        match p.next {
            Some(n) => page.after = Some(n),
            None => return Ok(all),
        }
    }
}

fn csv_error(e: impl std::fmt::Display) -> Error {
    Error::internal(e)
}

/// The escalation report: one row per escalated invoice still owed.
pub async fn escalated_csv(app: &App) -> Result<String, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "client_id",
        "client_name",
        "tax_id",
        "email",
        "phone",
        "invoice_id",
        "invoice_number",
        "concept",
        "currency",
        "total",
        "late_fees",
        "paid",
        "amount_due",
        "issue_date",
        "due_date",
        "days_overdue",
        "escalated_on",
        "notices",
    ])
    .map_err(csv_error)?;
    for esc in whole_log(app, StageLog::Escalations).await? {
        let Some(stored) = app.store.invoice(&esc.invoice_id).await? else {
            continue;
        };
        let b = ledger::balance(&stored.invoice.total, &stored.entries)?;
        if dunning::status(&b, &stored.stages) != InvoiceStatus::Escalated {
            continue; // paid, voided or disputed since: not the agency's
        }
        let Some(client) = app.store.client(&stored.invoice.client_id).await? else {
            continue;
        };
        let inv = &stored.invoice;
        let day = |t: chrono::DateTime<chrono::Utc>| cobro_domain::today_in(inv.timezone, t);
        let escalated_on = esc.done_at.map(day).unwrap_or_default();
        let mut sent: Vec<&StageRecord> = stored
            .stages
            .iter()
            .filter(|s| s.is_done() && s.stage.is_message() && s.stage != Stage::Escalation)
            .collect();
        sent.sort_by_key(|s| s.done_at);
        let notices = sent
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s.done_at.map(day).unwrap_or_default(),
                    cobro_notify::words::stage(s, Locale::En)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        w.write_record([
            client.id.to_string(),
            client.name.clone(),
            client.tax_id.clone().unwrap_or_default(),
            client.email.clone(),
            client.phone.clone().unwrap_or_default(),
            inv.id.to_string(),
            inv.number.clone(),
            inv.concept().to_string(),
            inv.currency.code().to_string(),
            inv.total.amount().to_string(),
            b.late_fees.amount().to_string(),
            b.net_paid.amount().to_string(),
            b.amount_due.amount().to_string(),
            inv.issue_date.to_string(),
            inv.due_date.to_string(),
            cobro_domain::calendar::days_between(inv.due_date, escalated_on).to_string(),
            escalated_on.to_string(),
            notices,
        ])
        .map_err(csv_error)?;
    }
    String::from_utf8(w.into_inner().map_err(csv_error)?).map_err(csv_error)
}

/// The penalty log: one row per late fee charged.
pub async fn late_fees_csv(app: &App) -> Result<String, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "charged_at",
        "invoice_id",
        "invoice_number",
        "client_id",
        "period",
        "currency",
        "amount",
        "announced_for",
    ])
    .map_err(csv_error)?;
    for fee in whole_log(app, StageLog::LateFees).await? {
        let number = app
            .store
            .invoice(&fee.invoice_id)
            .await?
            .map(|s| s.invoice.number)
            .unwrap_or_default();
        let period = match fee.stage {
            Stage::LateFee(n) => n,
            _ => continue,
        };
        w.write_record([
            fee.done_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            fee.invoice_id.to_string(),
            number,
            fee.client_id.to_string(),
            period.to_string(),
            fee.amount
                .map(|m| m.currency().code().to_string())
                .unwrap_or_default(),
            fee.amount
                .map(|m| m.amount().to_string())
                .unwrap_or_default(),
            fee.charge_on.map(|d| d.to_string()).unwrap_or_default(),
        ])
        .map_err(csv_error)?;
    }
    String::from_utf8(w.into_inner().map_err(csv_error)?).map_err(csv_error)
}

/// Kept and broken promises (and broken plans) of a client or overall.
#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct Tally {
    pub kept: u32,
    pub broken: u32,
    pub plans_broken: u32,
    /// kept / (kept + broken), when any was judged.
    pub kept_rate: Option<Decimal>,
}

impl Tally {
    fn count(&mut self, stage: &Stage) {
        match stage {
            Stage::PromiseKept(_) => self.kept = self.kept.saturating_add(1),
            Stage::PromiseBroken(_) => self.broken = self.broken.saturating_add(1),
            Stage::PlanBroken(_) => self.plans_broken = self.plans_broken.saturating_add(1),
            _ => {}
        }
        let judged = self.kept.saturating_add(self.broken);
        self.kept_rate = Decimal::from(self.kept)
            .checked_div(Decimal::from(judged))
            .map(|r| r.round_dp(4));
    }
}

/// A broken promise or plan, as the business was told.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BrokenItem {
    pub invoice_id: InvoiceId,
    pub what: Stage,
    pub amount: Option<Decimal>,
    pub date: Option<NaiveDate>,
    pub told_at: Option<DateTime<Utc>>,
}

/// One client's promises.
#[derive(Debug, Clone)]
pub struct ClientPromises {
    pub client_id: String,
    /// Their name, when they still exist.
    pub name: Option<String>,
    pub tally: Tally,
    pub broken: Vec<BrokenItem>,
}

/// The promise report.
#[derive(Debug, Clone)]
pub struct PromiseReport {
    pub overall: Tally,
    pub clients: Vec<ClientPromises>,
}

/// Kept and broken promises (and broken plans) overall and per client, with each broken
/// one, from the promise log; only the client `client_id`'s when given.
pub async fn promises(app: &App, client_id: Option<&str>) -> Result<PromiseReport, Error> {
    let only = match client_id {
        None => None,
        Some(raw) => Some(super::ledgers::find_client(app, raw).await?.id),
    };
    let mut overall = Tally::default();
    let mut clients: BTreeMap<String, (Tally, Vec<BrokenItem>)> = BTreeMap::new();
    for r in whole_log(app, StageLog::Promises).await? {
        if only.as_ref().is_some_and(|c| *c != r.client_id) {
            continue;
        }
        overall.count(&r.stage);
        let entry = clients.entry(r.client_id.to_string()).or_default();
        entry.0.count(&r.stage);
        if matches!(r.stage, Stage::PromiseBroken(_) | Stage::PlanBroken(_)) {
            entry.1.push(BrokenItem {
                invoice_id: r.invoice_id,
                what: r.stage,
                amount: r.amount.map(|m: Money| m.amount()),
                date: r.charge_on,
                told_at: r.done_at,
            });
        }
    }
    let mut rows = Vec::new();
    for (id, (tally, broken)) in clients {
        let name = match ClientId::parse(&id) {
            Some(cid) => app.store.client(&cid).await?.map(|c| c.name),
            None => None,
        };
        rows.push(ClientPromises {
            client_id: id,
            name,
            tally,
            broken,
        });
    }
    Ok(PromiseReport {
        overall,
        clients: rows,
    })
}
