//! `/v1/clients`: create, list and read clients, their invoices, their standing, their
//! budget.

use axum::Extension;
use axum::Json;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cobro_domain::deposit::ClientStatus;
use cobro_domain::{AmountInput, Client, ClientChanges, Invoice, NewClient};
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::idempotency::{IdempotencyKeyHeader, Idempotent};
use super::paging::{ListParams, list, page_request};
use super::problem::{Problem, ProblemBody};
use super::views::{ClientView, InvoiceView, ListView, StandingView, deposit_json, to_json};
use super::{created, json};
use crate::App;
use crate::usecases::{deposits, invoicing, standing};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, list_clients))
        .routes(routes!(get_client, update_client))
        .routes(routes!(client_invoices))
        .routes(routes!(get_standing))
        .routes(routes!(set_budget))
        .routes(routes!(set_credit_limit))
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

/// Creates a client. When the business asks new clients for a deposit, the answer carries
/// the deposit invoice (`open_deposit`, with its pay link, shown this once) and the client
/// is `pending_deposit` until it is paid.
#[utoipa::path(post, operation_id = "create_client", path = "/v1/clients", tag = "clients",
    params(IdempotencyKeyHeader),
    request_body = NewClient,
    responses(
        (status = 201, description = "Created", body = ClientView),
        (status = 409, description = "Another client has this tax id (`duplicate-tax-id`, naming it); send `duplicate_tax_id: true` if that is meant", body = ProblemBody, content_type = "application/problem+json"),
    ))]
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
    match invoicing::create_client(&app, &idem.by, &input, &remember).await {
        Ok(made) => {
            let deposit = made.deposit.as_ref();
            let deposit = deposit.map(|d| (&d.invoice, d.pay_url.as_str()));
            let body = new_client_json(&made.client, deposit)?;
            Ok(created(format!("/v1/clients/{}", made.client.id), body))
        }
        Err(e) => Ok(idem.failed(&app, e).await),
    }
}

/// Clients, newest first, a page at a time, each with its balance, overdue and credit per
/// currency and its status.
#[utoipa::path(get, operation_id = "list_clients", path = "/v1/clients", tag = "clients",
    params(ListParams),
    responses(
        (status = 200, description = "A page of clients", body = ListView<ClientView>),
        (status = 422, description = "`limit` or `after` is not valid", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn list_clients(
    State(app): State<App>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let (details, next) = invoicing::list_clients(&app, &page_request(params)?).await?;
    list(details.iter().map(client_view).collect(), next)
}

/// A client with what their ledgers say: credit, balance and overdue per currency, status,
/// the deposit waiting.
fn client_view(d: &invoicing::ClientDetails) -> ClientView<'_> {
    let mut view = ClientView::new(&d.client);
    view.credit = Some(d.credit.clone());
    view.balance = Some(d.balance.clone());
    view.overdue = Some(d.overdue.clone());
    view.status = Some(d.status);
    view.open_deposit = d.open_deposit.as_ref().map(|inv| deposit_json(inv, None));
    view
}

/// A client with their balance, overdue and credit per currency, their status and any
/// deposit waiting.
#[utoipa::path(get, operation_id = "get_client", path = "/v1/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "The client's id (`cli_…`)")),
    responses((status = 200, description = "The client", body = ClientView)))]
async fn get_client(State(app): State<App>, Path(id): Path<String>) -> Result<Response, Problem> {
    let d = invoicing::client_details(&app, &id).await?;
    Ok(Json(to_json(&client_view(&d))?).into_response())
}

/// Changes a client's contact (`name`, `email`, `phone`, `locale`, `timezone`) or their
/// dunning `terms` (whole: `null` puts them back on the business's policy). What is left
/// out stays; the tax id and country cannot be changed (422). Checked like a new client
/// (422, field by field); recorded in the audit log with the fields that changed.
#[utoipa::path(patch, operation_id = "update_client", path = "/v1/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "The client's id (`cli_…`)")),
    request_body = ClientChanges,
    responses(
        (status = 200, description = "The client as changed", body = ClientView),
        (status = 404, description = "No such client", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid, or not one that can be changed", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn update_client(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = json::body(body)?;
    let changes: ClientChanges = json::parse(&headers, &body)?;
    let client = invoicing::update_client(&app, &caller.by, &id, &changes).await?;
    Ok(Json(to_json(&ClientView::new(&client))?).into_response())
}

/// A client's invoices, newest first, a page at a time.
#[utoipa::path(get, operation_id = "client_invoices", path = "/v1/clients/{id}/invoices", tag = "clients",
    params(("id" = String, Path, description = "The client's id (`cli_…`)"), ListParams),
    responses(
        (status = 200, description = "A page of invoices", body = ListView<InvoiceView>),
        (status = 422, description = "`limit` or `after` is not valid", body = ProblemBody, content_type = "application/problem+json"),
    ))]
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
#[utoipa::path(get, operation_id = "get_standing", path = "/v1/clients/{id}/standing", tag = "clients",
    params(("id" = String, Path, description = "The client's id (`cli_…`)")),
    responses((status = 200, description = "The client's standing now", body = StandingView)))]
async fn get_standing(State(app): State<App>, Path(id): Path<String>) -> Result<Response, Problem> {
    let r = standing::of(&app, &id).await?;
    let view = StandingView {
        object: "standing",
        client_id: r.client.id.clone(),
        reasons: cobro_notify::words::standing_reasons(
            &r.picture.standing,
            app.config.business_locale,
        ),
        standing: r.picture.standing,
        outstanding: r.picture.outstanding,
        credit_limit: r.client.credit_limit,
        available_credit: r.available,
        computed_at: app.now(),
    };
    Ok(Json(to_json(&view)?).into_response())
}

/// `PUT /v1/clients/{id}/budget` `{amount, currency}`: sets or raises the budget. Not
/// below what was already invoiced (409), and in the client's currency (422).
#[utoipa::path(put, operation_id = "set_budget", path = "/v1/clients/{id}/budget", tag = "clients",
    params(("id" = String, Path, description = "The client's id (`cli_…`)")),
    request_body = AmountInput,
    responses(
        (status = 200, description = "The client with the new budget", body = ClientView),
        (status = 409, description = "Below what was already invoiced", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn set_budget(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = json::body(body)?;
    let input: AmountInput = json::parse(&headers, &body)?;
    let client = deposits::set_budget(&app, &caller.by, &id, &input).await?;
    Ok(Json(to_json(&ClientView::new(&client))?).into_response())
}

/// `PUT /v1/clients/{id}/credit-limit` `{amount, currency}` sets the credit limit (`null`
/// removes it): positive, in the currency of the client's other amounts (422). Invoices
/// that would take what the client owes over it are refused (409).
#[utoipa::path(put, operation_id = "set_credit_limit", path = "/v1/clients/{id}/credit-limit", tag = "clients",
    params(("id" = String, Path, description = "The client's id (`cli_…`)")),
    request_body(content = Option<AmountInput>, description = "The limit, or `null` to remove it"),
    responses(
        (status = 200, description = "The client with the new credit limit", body = ClientView),
        (status = 422, description = "Not positive, or in another currency than the client's other amounts", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn set_credit_limit(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = json::body(body)?;
    let input: Option<AmountInput> = json::parse(&headers, &body)?;
    let client = invoicing::set_credit_limit(&app, &caller.by, &id, input.as_ref()).await?;
    Ok(Json(to_json(&ClientView::new(&client))?).into_response())
}
