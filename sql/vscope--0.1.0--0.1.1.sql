-- vscope 0.1.0 -> 0.1.1: the layout release (sources split by domain); every
-- object the user can see gets a comment.  Nothing else changes.
\echo Use "ALTER EXTENSION vscope UPDATE TO '0.1.1'" to load this file. \quit
