//! The dashboard: Elm-style. Facts arrive as [`update::Msg`]s, [`update::update`]
//! changes the [`state::State`] and returns effects for the runtime, [`view::view`]
//! draws the state (pure). The runtime in [`app`] owns the terminal, the poll task and
//! the executor.

pub mod action;
pub mod app;
pub mod engine_link;
pub mod host_link;
pub mod keymap;
pub mod layout;
pub mod plan;
pub mod present;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod view;

#[cfg(test)]
mod quit_tests;
#[cfg(test)]
mod selection_tests;
#[cfg(test)]
mod spec_tests;
#[cfg(test)]
mod tests;
