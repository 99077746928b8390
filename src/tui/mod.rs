//! The dashboard: Elm-style. Facts arrive as [`update::Msg`]s, [`update::update`] — the
//! only writer of the [`state::State`] — changes it and returns effects (in order) and
//! whether to redraw; [`view::view`] draws the state (pure). The runtime in [`app`] owns
//! the terminal, the poll task and the [`services`] ([`engine_link`] on its own thread,
//! [`engine_worker`]; [`host_link`]), which receive effects and answer with messages. Keys and their metadata come from one
//! table ([`action::SPECS`]); [`plan`] says what an action would do now, [`present`]
//! holds the text `update` and `view` share, [`layout`] the geometry.

pub mod action;
pub mod app;
pub mod command_line;
pub mod engine_link;
pub mod engine_worker;
pub mod fleet;
pub mod fleet_engine;
pub mod host_link;
pub mod hosts;
pub mod keymap;
pub mod layout;
pub mod limits;
pub mod plan;
pub mod poll_task;
pub mod present;
pub mod services;
pub mod sort;
pub mod state;
pub mod state_views;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod view;
pub mod visible;
pub mod wrap;

#[cfg(test)]
mod alerts_tests;
#[cfg(test)]
mod bulk_tests;
#[cfg(test)]
mod command_tests;
#[cfg(test)]
mod cutoff_tests;
#[cfg(test)]
mod mouse_tests;
#[cfg(test)]
mod quit_tests;
#[cfg(test)]
mod selection_tests;
#[cfg(test)]
mod spec_tests;
#[cfg(test)]
mod statuses_tests;
#[cfg(test)]
mod step_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
#[path = "visible_tests.rs"]
mod visible_tests;
