//! `/v1/clients`: create, list and read clients, their invoices, their standing, their
//! budget.

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use cobro_domain::deposit::ClientStatus;
use cobro_domain::{AmountInput, Client, Invoice, NewClient};
use tracing::instrument;

use super::idempotency::Idempotent;
use super::paging::{ListParams, list, page_request};
use super::problem::Problem;
use super::views::{ClientView, InvoiceView, deposit_json, reasons, to_json};
use super::{created, json};
use crate::App;
use crate::usecases::{deposits, invoicing, standing};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/clients", axum::routing::post(create).get(list_clients))
        .route("/v1/clients/{id}", get(get_client))
        .route("/v1/clients/{id}/invoices", get(client_invoices))
        .route("/v1/clients/{id}/standing", get(get_standing))
        .route("/v1/clients/{id}/budget", put(set_budget))
}

/// A new client as answered: active, or pending the deposit asked for with it.
fn new_client_json(
    client: &Client,
    deposit: Option<(&Invoice, &str)>,
) -> Result<serde_json::Value, Problem> {
    let mut view = ClientView::new(client);
    view.status = Some(match deposit {
        Some(_) => ClientStatus::PendingDeposit,
        None => ClientStatus::Active,
    });
    view.open_deposit =
        deposit.map(|(invoice, pay_url)| deposit_json(invoice, Some((pay_url, "new-client"))));
    Ok(to_json(&view)?)
}

#[instrument(skip_all)]
async fn create(State(app): State<App>, idem: Idempotent) -> Result<Response, Problem> {
    let input: NewClient = idem.parse()?;
    let now = app.now();
    let remember = |client: &Client, deposit: Option<(&Invoice, &str)>| {
        idem.record(
            StatusCode::CREATED,
            &new_client_json(client, deposit).ok()?,
            now,
        )
    };
    match invoicing::create_client(&app, &input, &remember).await {
        Ok(made) => {
            let deposit = made.deposit.as_ref();
            let deposit = deposit.map(|d| (&d.invoice, d.pay_url.as_str()));
            let body = new_client_json(&made.client, deposit)?;
            Ok(created(format!("/v1/clients/{}", made.client.id), body))
        }
        Err(e) => Ok(idem.failed(&app, e).await),
    }
}

async fn list_clients(
    State(app): State<App>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let page = invoicing::list_clients(&app, &page_request(params)?).await?;
    list(page.items.iter().map(ClientView::new).collect(), page.next)
}

async fn get_client(State(app): State<App>, Path(id): Path<String>) -> Result<Response, Problem> {
    let d = invoicing::client_details(&app, &id).await?;
    let mut view = ClientView::new(&d.client);
    view.credit = Some(d.credit);
    view.status = Some(d.status);
    view.open_deposit = d.open_deposit.map(|inv| deposit_json(&inv, None));
    Ok(Json(to_json(&view)?).into_response())
}

async fn client_invoices(
    State(app): State<App>,
    Path(id): Path<String>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let page = page_request(params)?;
    let (stored, next) = invoicing::client_invoices(&app, &id, &page).await?;
    let now = app.now();
    let data = stored
        .iter()
        .map(|s| InvoiceView::summary(s, now))
        .collect::<Result<Vec<_>, _>>()?;
    list(data, next)
}

/// `GET /v1/clients/{id}/standing`: score, tier, the factors and points that made it and
/// why, what is outstanding per currency, and the credit still available under the limit.
async fn get_standing(State(app): State<App>, Path(id): Path<String>) -> Result<Response, Problem> {
    let r = standing::of(&app, &id).await?;
    let s = &r.picture.standing;
    Ok(Json(serde_json::json!({
        "object": "standing",
        "client_id": r.client.id,
        "score": s.score,
        "tier": s.tier,
        "history": s.history,
        "factors": s.factors,
        "reasons": reasons(s),
        "outstanding": r.picture.outstanding,
        "credit_limit": r.client.credit_limit,
        "available_credit": r.available,
        "computed_at": app.now(),
    }))
    .into_response())
}

/// `PUT /v1/clients/{id}/budget` `{amount, currency}`: sets or raises the budget. Not
/// below what was already invoiced (409), and in the client's currency (422).
async fn set_budget(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = json::body(body)?;
    let input: AmountInput = json::parse(&headers, &body)?;
    let client = deposits::set_budget(&app, &id, &input).await?;
    Ok(Json(to_json(&ClientView::new(&client))?).into_response())
}
