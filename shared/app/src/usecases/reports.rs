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

/// How a CSV report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvFormat {
    /// Notices (and, for a spreadsheet, column names) in this language.
    pub locale: Locale,
    /// Fit for a spreadsheet set to Spanish (Excel in es-CL and the like): a UTF-8 byte
    /// order mark, `;` between fields and `,` before decimals. Otherwise `,`, `.` and no
    /// mark, for programs.
    pub excel: bool,
}

impl CsvFormat {
    /// The business's own: in its language, and Excel-ready when that is Spanish; `excel`
    /// overrides.
    pub fn of(app: &App, excel: Option<bool>) -> Self {
        let locale = app.config.business_locale;
        CsvFormat {
            locale,
            excel: excel.unwrap_or(locale == Locale::Es),
        }
    }

    pub fn amount(&self, m: &Money) -> String {
        let s = m.amount().to_string();
        if self.excel { s.replace('.', ",") } else { s }
    }
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or CR first) is
/// written with a leading `'`, so it is shown as the text it is (OWASP, "CSV Injection").
fn cell(s: String) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s,
    }
}

/// Writes `rows` under the `columns` (keys of [`cobro_notify::words::csv_column`]: named in
/// the business's language for a spreadsheet, as keys for programs).
pub(super) fn write_csv(
    format: CsvFormat,
    columns: &[&str],
    rows: Vec<Vec<String>>,
) -> Result<String, Error> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(if format.excel { b';' } else { b',' })
        .from_writer(Vec::new());
    // People read the headers in their language; programs read stable keys.
    w.write_record(columns.iter().map(|c| match format.excel {
        true => cobro_notify::words::csv_column(c, format.locale),
        false => c.to_string(),
    }))
    .map_err(csv_error)?;
    for row in rows {
        w.write_record(row.into_iter().map(cell))
            .map_err(csv_error)?;
    }
    let body = String::from_utf8(w.into_inner().map_err(csv_error)?).map_err(csv_error)?;
    Ok(if format.excel {
        format!("\u{feff}{body}")
    } else {
        body
    })
}

const ESCALATED: [&str; 18] = [
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
];

/// The escalation report: one row per escalated invoice still owed.
pub async fn escalated_csv(app: &App, format: CsvFormat) -> Result<String, Error> {
    let mut rows = Vec::new();
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
                    cobro_notify::words::stage(s, format.locale)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        rows.push(vec![
            client.id.to_string(),
            client.name.clone(),
            client.tax_id.clone().unwrap_or_default(),
            client.email.clone(),
            client.phone.clone().unwrap_or_default(),
            inv.id.to_string(),
            inv.number.clone(),
            inv.concept().to_string(),
            inv.currency.code().to_string(),
            format.amount(&inv.total),
            format.amount(&b.late_fees),
            format.amount(&b.net_paid),
            format.amount(&b.amount_due),
            inv.issue_date.to_string(),
            inv.due_date.to_string(),
            cobro_domain::calendar::days_between(inv.due_date, escalated_on).to_string(),
            escalated_on.to_string(),
            notices,
        ]);
    }
    write_csv(format, &ESCALATED, rows)
}

const LATE_FEES: [&str; 10] = [
    "charged_at",
    "invoice_id",
    "invoice_number",
    "client_id",
    "client_name",
    "period",
    "currency",
    "amount",
    "announced_for",
    "notice",
];

/// The penalty log: one row per late fee charged, with its client and its notice.
pub async fn late_fees_csv(app: &App, format: CsvFormat) -> Result<String, Error> {
    let mut rows = Vec::new();
    for fee in whole_log(app, StageLog::LateFees).await? {
        let period = match fee.stage {
            Stage::LateFee(n) => n,
            _ => continue,
        };
        let stored = app.store.invoice(&fee.invoice_id).await?;
        let client = app.store.client(&fee.client_id).await?;
        let notice = stored
            .as_ref()
            .and_then(|s| {
                s.stages
                    .iter()
                    .find(|r| r.stage == Stage::FeeNotice(period))
            })
            .map(|n| cobro_notify::words::stage(n, format.locale))
            .unwrap_or_default();
        rows.push(vec![
            fee.done_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            fee.invoice_id.to_string(),
            stored.map(|s| s.invoice.number).unwrap_or_default(),
            fee.client_id.to_string(),
            client.map(|c| c.name).unwrap_or_default(),
            period.to_string(),
            fee.amount
                .map(|m| m.currency().code().to_string())
                .unwrap_or_default(),
            fee.amount.map(|m| format.amount(&m)).unwrap_or_default(),
            fee.charge_on.map(|d| d.to_string()).unwrap_or_default(),
            notice,
        ]);
    }
    write_csv(format, &LATE_FEES, rows)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What Excel set to Spanish (Chile) needs, and nothing a spreadsheet would run.
    #[test]
    fn excel_ready_csv_is_marked_separated_and_inert() {
        let rows = vec![vec![
            "=HYPERLINK(\"http://x\")".to_string(),
            "+56 9 1234".to_string(),
            "-1".to_string(),
            "@SUM(A1)".to_string(),
            "Ferretería; Los Andes".to_string(),
        ]];
        let cols = ["client_name", "phone", "period", "notice", "concept"];
        let es = CsvFormat {
            locale: Locale::Es,
            excel: true,
        };
        let out = write_csv(es, &cols, rows.clone()).unwrap();
        assert!(
            out.starts_with("\u{feff}cliente;teléfono;período;aviso;concepto\n"),
            "{out}"
        );
        assert!(out.contains("'=HYPERLINK"), "{out}");
        assert!(
            out.contains(";'+56 9 1234;'-1;'@SUM(A1);\"Ferretería; Los Andes\""),
            "{out}"
        );
        let m = Money::new(
            rust_decimal::Decimal::new(12050, 2),
            cobro_domain::Currency::parse("USD").unwrap(),
        )
        .unwrap();
        assert_eq!(es.amount(&m), "120,50");
        let plain = CsvFormat {
            locale: Locale::En,
            excel: false,
        };
        let out = write_csv(plain, &cols, rows).unwrap();
        assert!(
            out.starts_with("client_name,phone,period,notice,concept\n"),
            "{out}"
        );
        assert!(
            out.contains("'=HYPERLINK"),
            "formulas are neutralised for programs too: {out}"
        );
        assert_eq!(plain.amount(&m), "120.50");
    }
}
