-- vscope 0.2.0 -> 0.2.1: the block store held at scale (what the sections
-- below say).  Every change here is also in the sql/<domain>.sql file that
-- holds the object, so a fresh 0.2.1 install and an upgraded one match
-- (make test compares their catalogs).
\echo Use "ALTER EXTENSION vscope UPDATE TO '0.2.1'" to load this file. \quit
