//! The invoices API over real HTTP, on both stacks: SQLite + outbox, and DynamoDB + SES
//! (moto). GIVEN a running app on a random port, WHEN a client calls it, THEN …
//!
//! One binary, a module per area; [`helpers`] starts the stacks.

macro_rules! on_both_stacks {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::spawn(super::Backend::Sqlite).await).await }) *
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::spawn(super::Backend::Dynamo).await).await }) *
        }
    };
}

mod helpers;

mod arrangements;
mod audit;
mod clients;
mod console;
mod credit;
mod deposits;
mod dunning;
mod figures;
mod invoices;
mod lists;
mod openapi;
mod portal;
mod standing;
mod text;
mod webhooks;
