//! A work queue read from the stage logs (`/console/queues/{name}`): promises and plans
//! broken in the last seven days, deposits overdue and still owed; each invoice as the
//! lists show it, with when it got there. Every signed-in role may read it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cobro_domain::User;
use cobro_notify::console::Words;

use super::{InvoiceLine, frame, not_found_page, render_with, require, server_error};
use crate::App;
use crate::usecases::queues::{self, Queue};

/// The queue's name on the home page and as its page's title.
pub(super) fn label(w: &'static Words, q: Queue) -> &'static str {
    match q {
        Queue::BrokenPromises => w.broken_promises,
        Queue::BrokenPlans => w.broken_plans,
        Queue::OverdueDeposits => w.overdue_deposits,
    }
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
    rows: Vec<(InvoiceLine, String)>,
    more: bool,
}

pub(super) async fn queue_page(
    State(app): State<App>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let Some(queue) = Queue::parse(&name) else {
        return not_found_page(&app, &s);
    };
    let f = frame(&app, &s);
    let l = s.user.locale;
    let (items, more) = match queues::items(&app, queue).await {
        Ok(found) => found,
        Err(e) => return server_error(e),
    };
    let tz = app.config.business_timezone;
    let rows = items
        .iter()
        .map(|i| {
            (
                InvoiceLine::of(l, &i.row),
                l.long_date(i.since.with_timezone(&tz).date_naive()),
            )
        })
        .collect();
    render_with(
        StatusCode::OK,
        QueuePage {
            w: f.w,
            business: f.business,
            me: f.me,
            csrf: f.csrf,
            title: label(f.w, queue),
            rows,
            more,
        },
    )
}
