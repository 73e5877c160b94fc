//! Reports as CSV, fit to open in a spreadsheet or hand to a collection agency.
//!
//! - `GET /v1/reports/escalated` (and `cobro export escalated`): every invoice escalated
//!   and still owed, with the client's tax id, the amounts and every notice sent, dated.
//! - `GET /v1/reports/late-fees`: the penalty log, every late fee charged.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use cobro_domain::{InvoiceStatus, Locale, StageRecord, dunning, ledger};
use cobro_store::{PageRequest, StageLog};

use crate::{App, Problem};

/// Every done stage of one log, newest first.
pub(crate) async fn whole_log(app: &App, log: StageLog) -> Result<Vec<StageRecord>, Problem> {
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

fn csv_error(e: impl std::fmt::Display) -> Problem {
    Problem::internal(&e.to_string())
}

/// The escalation report: one row per escalated invoice still owed.
pub async fn escalated_csv(app: &App) -> Result<String, Problem> {
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
        let b = ledger::balance(&stored.invoice.total, &stored.entries)
            .map_err(|e| Problem::internal(&e))?;
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
            .filter(|s| {
                s.is_done() && s.stage.is_message() && s.stage != cobro_domain::Stage::Escalation
            })
            .collect();
        sent.sort_by_key(|s| s.done_at);
        let notices = sent
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s.done_at.map(day).unwrap_or_default(),
                    crate::dunning::describe(s, Locale::En)
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
            (escalated_on - inv.due_date).num_days().to_string(),
            escalated_on.to_string(),
            notices,
        ])
        .map_err(csv_error)?;
    }
    String::from_utf8(w.into_inner().map_err(csv_error)?).map_err(csv_error)
}

/// The penalty log: one row per late fee charged.
pub async fn late_fees_csv(app: &App) -> Result<String, Problem> {
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
            cobro_domain::Stage::LateFee(n) => n,
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

fn csv_response(name: &str, body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

pub async fn escalated(State(app): State<App>) -> Result<Response, Problem> {
    Ok(csv_response("escalated.csv", escalated_csv(&app).await?))
}

pub async fn late_fees(State(app): State<App>) -> Result<Response, Problem> {
    Ok(csv_response("late-fees.csv", late_fees_csv(&app).await?))
}
