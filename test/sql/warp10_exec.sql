-- WarpScript: vscope.warp10_exec(script) -> (stack, ops, fetched).  The
-- language (Warp 10's lexer), values and their JSON, the core functions,
-- GTS and the frameworks with their documented examples, FETCH and FIND
-- through the Warp 10 functions with tenancy, the limits, and errors in
-- Warp 10's form (SQLSTATE VSW00, the line and counters in the detail).
SET timezone = 'UTC';
\set VERBOSITY default
-- the stack only, for most tests
CREATE FUNCTION pg_temp.ws(script text) RETURNS text
	LANGUAGE sql AS $$ SELECT stack FROM vscope.warp10_exec(script) $$;
-- a script error's SQLSTATE and message alone (for counts that vary)
CREATE FUNCTION pg_temp.ws_error(script text) RETURNS text
	LANGUAGE plpgsql AS $$
DECLARE
	msg text;
	state text;
BEGIN
	PERFORM vscope.warp10_exec(script);
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
	RETURN state || ': ' || msg;
END
$$;

-- Grafana's connection test, and the counters
SELECT * FROM vscope.warp10_exec('1 2 +');
SELECT * FROM vscope.warp10_exec('');
SELECT * FROM vscope.warp10_exec(E'// a comment\n# another\n/* a block\n comment */ 42 /* inline */ 43');

-------------------------------------------------------------------------------
-- the lexer and the values
-------------------------------------------------------------------------------
-- the stack is answered top first
SELECT pg_temp.ws('1 2 3');
-- LONG, hexadecimal, binary, DOUBLE, NaN, Infinity, booleans in any case, NULL
SELECT pg_temp.ws('42 -7 +3 0x1F 0b101 3.5 -0.0 1e3 1. NaN Infinity -Infinity true F t FALSE NULL');
-- a LONG too large is Java's error
SELECT pg_temp.ws('99999999999999999999');
-- doubles print as Java's Double.toString
SELECT pg_temp.ws('1.0E7 9999999.0 0.001 1.0E-4 100.0 0.1 1.234E-5 -2.5E10 123456789.125 0.30000000000000004');
-- strings: percent-decoded, a quote ends them only before whitespace
SELECT pg_temp.ws($$'a%20b' "x'y" 'it's' 'a+b' '%C3%A9t%C3%A9' '%25'$$);
SELECT pg_temp.ws($$'tab	inside'   'end'$$);
-- the JSON answer escapes quotes, backslashes, control characters and all of non-ASCII
SELECT pg_temp.ws($$'q%22b%5Cn%0Al%01' '%E2%82%AC%F0%9F%98%80'$$);
-- a multiline string: <' and '> alone on their lines
SELECT pg_temp.ws(E'<\'\nline 1\n  line 2\n\'>\nSIZE');
-- lists and maps; [ is a mark, so X [ SWAP a ] makes [X, a]
SELECT pg_temp.ws($$[ 1 [ 2 'x' ] { 'k' [] } {} ] 7 [ SWAP 8 ]$$);
SELECT pg_temp.ws($${ 'a' 1 'b' 2.5 'c' NULL 1 'long key' true 'bool key' }$$);
-- macros are values until EVAL; they print as their snapshot
SELECT pg_temp.ws($$<% 1 2 + %> DUP EVAL <% 'a b' $x @m <% NaN %> %>$$);
-- variables, early binding, running a stored macro with @
SELECT pg_temp.ws($$'v' 'x' STORE $x <% $x %> 'm' STORE 'w' 'x' STORE @m !$x$$);
SELECT pg_temp.ws($$1 2 [ 'a' 'b' ] STORE $b $a 3 4 [ 'c' NULL ] STORE $c$$);
SELECT pg_temp.ws($$[ 1 2 ] [ 'a' 'b' ] STORE$$);
-- a script runs line by line: the error says which line
SELECT pg_temp.ws(E'1\n2\n3 +\n+\n+');
-- unbalanced constructs are refused at the end
SELECT pg_temp.ws('<% 1');
SELECT pg_temp.ws('1 %>');
SELECT pg_temp.ws(E'<\'\nnever closed');
SELECT pg_temp.ws('/* never closed');
SELECT pg_temp.ws('1 */');
SELECT pg_temp.ws($$'no end$$);
SELECT pg_temp.ws($$'%zz'$$);
SELECT pg_temp.ws($$'%4'$$);
SELECT pg_temp.ws('x <''');
-- unknown words, variables and macros
SELECT pg_temp.ws('NOSUCHFUNCTION');
SELECT pg_temp.ws('$nosuch');
SELECT pg_temp.ws('<% $nosuch %> EVAL');
SELECT pg_temp.ws('@nosuch');
SELECT pg_temp.ws('42 ''m'' STORE @m');
SELECT pg_temp.ws('<% !$nosuch %>');
-- the error form: up to 30 characters either side of the statement, nested macros
SELECT pg_temp.ws('1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 DROP DROP [ 1 2 ] 0 GET + + + + NOSUCH 1 2 3 4 5 6 7 8 9 10 11 12 13 14');
SELECT pg_temp.ws('<% <% 1 0 / %> EVAL %> ''f'' STORE @f');
-- LINEON names each line's section
SELECT pg_temp.ws(E'LINEON\n1\n2 NOSUCH');
SELECT pg_temp.ws($$'my section' SECTION 1 +$$);

-------------------------------------------------------------------------------
-- stack functions
-------------------------------------------------------------------------------
SELECT pg_temp.ws('1 2 DROP 3 DUP 4 5 SWAP');
SELECT pg_temp.ws('1 2 3 ROT');
SELECT pg_temp.ws('10 20 30 1 PICK 3 PICK');
SELECT pg_temp.ws('1 2 3 2 DUPN 4 DROPN DEPTH');
SELECT pg_temp.ws('1 2 3 4 3 ROLL');
SELECT pg_temp.ws('1 2 3 4 3 ROLLD');
SELECT pg_temp.ws('1 2 3 4 CLEAR 9');
SELECT pg_temp.ws('DROP');
SELECT pg_temp.ws('1 0 PICK');
SELECT pg_temp.ws('1 5 DROPN');
SELECT pg_temp.ws('1 ''a'' DROPN');
-- ->LIST and LIST-> (elements, then their count), ->MAP and MAP->
SELECT pg_temp.ws('1 2 3 3 ->LIST [ 4 5 ] LIST->');
SELECT pg_temp.ws($$'a' 1 'b' 2 4 ->MAP { 'x' 'y' } MAP->$$);
SELECT pg_temp.ws($${ 'a' 1 'a' 2 }$$);
SELECT pg_temp.ws($${ 'a' }$$);
SELECT pg_temp.ws('1 2 ]');
SELECT pg_temp.ws('1 2 }');
-- SIZE of a list, a map, a string (characters), a GTS, a macro
SELECT pg_temp.ws($$[ 1 2 ] SIZE { 'a' 1 } SIZE '%C3%A9t%C3%A9' SIZE NEWGTS SIZE <% 1 2 %> SIZE$$);
SELECT pg_temp.ws('42 SIZE');
-- GET consumes the collection; negative indexes from the end
SELECT pg_temp.ws($$[ 'a' 'b' 'c' ] 1 GET [ 'a' 'b' 'c' ] -1 GET { 'k' 'v' } 'k' GET { 'k' 'v' } 'x' GET$$);
SELECT pg_temp.ws('[ 1 2 ] 2 GET');
SELECT pg_temp.ws('[ 1 2 ] -3 GET');
SELECT pg_temp.ws($$[ 1 2 ] 'x' GET$$);
-- PUT leaves the collection; APPEND modifies the first one
SELECT pg_temp.ws($${ 'a' 1 } 2 'b' PUT 3 'a' PUT [ 1 2 ] 'x' 0 PUT$$);
SELECT pg_temp.ws($$[ 1 ] [ 2 3 ] APPEND { 'a' 1 } { 'b' 2 } APPEND$$);
SELECT pg_temp.ws('[ 1 ] 2 APPEND');
SELECT pg_temp.ws('[ 1 [ 2 [ 3 [ ] ] ] 4 ] FLATTEN [ 1 2 1 3.0 2 3 ] UNIQUE [ 1 2 3 ] REVERSE');
SELECT pg_temp.ws($$'%C3%A9ab' REVERSE [ 1 2 ] 1 CONTAINS { 'k' 1 } 'k' CONTAINSKEY { 'a' 1 'b' 2 } KEYLIST$$);
SELECT pg_temp.ws($$[ 'a' 'b' 'c' ] 1 REMOVE { 'a' 1 'b' 2 } 'a' REMOVE { 'a' 1 } VALUELIST$$);
-- LMAP sees each element and its index; FOREACH does not push the index
SELECT pg_temp.ws('[ 10 20 30 ] <% * %> LMAP [ 10 20 ] <% DROP 1 + %> LMAP [ 1 2 ] <% 2 * %> F LMAP');
SELECT pg_temp.ws($$0 [ 1 2 3 ] <% + %> FOREACH { 'a' 1 'b' 2 } <% %> FOREACH 'h%C3%A9' <% %> FOREACH [ 5 ] <% %> T FOREACH$$);
SELECT pg_temp.ws('1 <% %> FOREACH');
-- IFT IFTE with macros or booleans
SELECT pg_temp.ws($$<% true %> <% 'yes' %> IFT false <% 'no' %> IFT 1 2 < <% 'lt' %> <% 'ge' %> IFTE <% 2 1 < %> <% 'lt' %> <% 'ge' %> IFTE$$);
SELECT pg_temp.ws('<% 1 %> <% 2 %> IFT');
SELECT pg_temp.ws('1 <% 2 %> IFT');
-- FOR (counter pushed), WHILE, UNTIL
SELECT pg_temp.ws('0 1 5 <% + %> FOR 1.5 3 <% %> FOR 7 3 <% %> FOR');
SELECT pg_temp.ws($$1 'i' STORE <% $i 100 < %> <% $i 2 * 'i' STORE %> WHILE $i$$);
SELECT pg_temp.ws($$0 'i' STORE <% $i 1 + 'i' STORE %> <% $i 3 >= %> UNTIL $i$$);
SELECT pg_temp.ws('<% 1 %> <% %> WHILE');
-- ASSERT
SELECT pg_temp.ws('1 1 == ASSERT ''ok''');
SELECT pg_temp.ws('1 2 == ASSERT');
SELECT pg_temp.ws('1 ASSERT');
-- TYPEOF, ISNULL
SELECT pg_temp.ws($$1 TYPEOF 1.0 TYPEOF 'a' TYPEOF true TYPEOF NULL TYPEOF [] TYPEOF {} TYPEOF <% %> TYPEOF NEWGTS TYPEOF bucketizer.sum TYPEOF 1 mapper.add TYPEOF reducer.sum TYPEOF 'x' filter.byclass TYPEOF MARK TYPEOF$$);
SELECT pg_temp.ws('NULL ISNULL 0 ISNULL NaN ISNaN');
-- JSON-> and ->JSON
SELECT pg_temp.ws($$'{"a":[1,2.5,"x",null,true],"b":{"c":-3}}' JSON-> DUP ->JSON$$);
SELECT pg_temp.ws($$'[1,' JSON->$$);
-- LOAD RUN EVAL FORGET
SELECT pg_temp.ws($$3 'x' STORE 'x' LOAD <% 7 %> 'm' STORE 'm' RUN '1 2 +' EVAL$$);
SELECT pg_temp.ws($$3 'x' STORE 'x' FORGET 'x' LOAD$$);

-------------------------------------------------------------------------------
-- arithmetic, comparison, logic, conversion
-------------------------------------------------------------------------------
-- LONG op LONG stays LONG (/ truncates), a DOUBLE makes a DOUBLE
SELECT pg_temp.ws('7 2 / 7 2.0 / -7 2 / 7 -2 % 7.5 2 % 3 4 * 3 0.5 * 10 3 - 2 10 ** MAXLONG 1 + MINLONG');
SELECT pg_temp.ws('1 0 /');
SELECT pg_temp.ws('1 0 %');
SELECT pg_temp.ws('1.0 0 / -1.0 0 / 0.0 0 /');
-- + concatenates strings, appends to a list, joins macros
SELECT pg_temp.ws($$'ab' 'cd' + [ 1 ] 2 + <% 1 %> <% 2 %> + EVAL$$);
SELECT pg_temp.ws($$'a' 1 +$$);
SELECT pg_temp.ws($$'a' 1 -$$);
-- comparisons are numeric across LONG and DOUBLE; NaN rules as Warp 10's
SELECT pg_temp.ws($$1 1.0 == 1 2 < 2.5 2 > 3 3.0 <= 'a' 'b' < 'b' 'a' >= 1 'a' == [ 1 ] [ 1 ] == 1 2 !=$$);
SELECT pg_temp.ws('NaN NaN == NaN NaN != NaN 1 == NaN 1 != NaN 1 < NaN NaN <= NaN NaN <');
SELECT pg_temp.ws('MAXLONG MAXLONG TODOUBLE <');
SELECT pg_temp.ws($$[ 1 ] 1 <$$);
SELECT pg_temp.ws('true false && true false || true ! true false AND true false OR false NOT');
SELECT pg_temp.ws('1 true &&');
SELECT pg_temp.ws('-3 ABS -2.5 ABS 3 2.5 MIN 3 2.5 MAX NaN 1 MIN');
-- conversions
SELECT pg_temp.ws($$3.9 TOLONG -3.9 TOLONG NaN TOLONG '42' TOLONG true TOLONG 3 TODOUBLE '2.5' TODOUBLE false TODOUBLE$$);
SELECT pg_temp.ws($$42 TOSTRING 42.0 TOSTRING 1e21 TOSTRING true TOSTRING 'x' TOSTRING 0 TOBOOLEAN 'true' TOBOOLEAN$$);
SELECT pg_temp.ws($$'abc' TOLONG$$);
SELECT pg_temp.ws($$'abc' TODOUBLE$$);
-- strings
SELECT pg_temp.ws($$[ 'a' 'b.c' 'd(e)' ] REOPTALT 'Hello {{name}}, {{missing}}' { 'name' 'World' } TEMPLATE$$);
SELECT pg_temp.ws($$[ 'a' 1 2.5 ] '-' JOIN 'a,b,,c' ',' SPLIT 'aBc' TOUPPER 'aBc' TOLOWER$$);

-------------------------------------------------------------------------------
-- time
-------------------------------------------------------------------------------
-- units multiply and round to microseconds
SELECT pg_temp.ws('1 w 1 d 1 h 1 m 1 s 1 ms 1 us 1 ns 1500 ns 1 ps 0.5 s 2.5 m');
SELECT pg_temp.ws($$'x' h$$);
SELECT pg_temp.ws('NOW TYPEOF NOW 1600000000000000 >');
-- ISO8601: six decimals and Z in UTC, or a zone's offset
SELECT pg_temp.ws($$0 ISO8601 1700000000000001 ISO8601 -1 ISO8601 1700000000123456 'Europe/Paris' ISO8601 1690000000000000 'America/New_York' ISO8601$$);
SELECT pg_temp.ws($$0 'Nowhere/Nothing' ISO8601$$);
SELECT pg_temp.ws($$'x' ISO8601$$);
-- TOTIMESTAMP: a zone or Z, fractions to the microsecond; no zone is UTC
SELECT pg_temp.ws($$'2023-11-14T22:13:20Z' TOTIMESTAMP '2023-11-14T23:13:20.123456789+01:00' TOTIMESTAMP '1970-01-01T00:00' TOTIMESTAMP '2018-08-01T12:17:52.115448Z' TOTIMESTAMP '2020-02-29T00:00:00+00:00[Europe/Paris]' TOTIMESTAMP$$);
SELECT pg_temp.ws($$'2023-02-30T00:00:00Z' TOTIMESTAMP$$);
SELECT pg_temp.ws($$'yesterday' TOTIMESTAMP$$);
SELECT pg_temp.ws($$1700000000000000 ISO8601 TOTIMESTAMP$$);
-- DURATION
SELECT pg_temp.ws($$'PT1H' DURATION 'P1DT0.5S' DURATION 'P2W' DURATION 'PT1M30S' DURATION$$);
SELECT pg_temp.ws($$'P1M' DURATION$$);
SELECT pg_temp.ws($$'1 hour' DURATION$$);

-------------------------------------------------------------------------------
-- GTS made in the script
-------------------------------------------------------------------------------
-- the first value fixes the type; later ones are converted (a DOUBLE truncated)
SELECT pg_temp.ws('NEWGTS 10 NaN NaN NaN 1 ADDVALUE 20 NaN NaN NaN 2.9 ADDVALUE 30 NaN NaN NaN -2.9 ADDVALUE 40 NaN NaN NaN true ADDVALUE');
SELECT pg_temp.ws($$NEWGTS 10 NaN NaN NaN 1.5 ADDVALUE 20 NaN NaN NaN 2 ADDVALUE 30 NaN NaN NaN '4.25' ADDVALUE$$);
SELECT pg_temp.ws($$NEWGTS 10 NaN NaN NaN 'a' ADDVALUE 20 NaN NaN NaN 2 ADDVALUE 30 NaN NaN NaN 2.5 ADDVALUE NEWGTS 1 NaN NaN NaN false ADDVALUE 2 NaN NaN NaN 3 ADDVALUE$$);
SELECT pg_temp.ws('NEWGTS 10 48.0 2.0 NaN 1 ADDVALUE');
SELECT pg_temp.ws('NEWGTS 10 NaN NaN NaN [ 1 ] ADDVALUE');
SELECT pg_temp.ws('1 10 NaN NaN NaN 1 ADDVALUE');
-- metadata: RENAME (+ appends), RELABEL (empty value removes, NULL key resets), SETATTRIBUTES
SELECT pg_temp.ws($$NEWGTS 'cpu' RENAME '+.user' RENAME { 'host' 'h1' 'dc' 'dc1' } RELABEL { 'dc' '' 'rack' 'r%2C1' } RELABEL { 'a' 'b' } SETATTRIBUTES DUP NAME SWAP DUP LABELS SWAP ATTRIBUTES$$);
SELECT pg_temp.ws($$NEWGTS { 'a' '1' } RELABEL { NULL NULL 'b' '2' } RELABEL LABELS$$);
SELECT pg_temp.ws($$[ NEWGTS NEWGTS ] 'same' RENAME { 'k' 'v' } RELABEL$$);
SELECT pg_temp.ws($$NEWGTS 42 RENAME$$);
SELECT pg_temp.ws($$NEWGTS { 'k' 1 } RELABEL$$);
SELECT pg_temp.ws('42 NAME');
-- VALUES TICKS LASTTICK FIRSTTICK SORT RSORT
SELECT pg_temp.ws($$NEWGTS 30 NaN NaN NaN 3 ADDVALUE 10 NaN NaN NaN 1 ADDVALUE 20 NaN NaN NaN 2 ADDVALUE 'g' STORE
$g VALUES $g TICKS $g LASTTICK $g FIRSTTICK $g SORT VALUES $g RSORT VALUES [ $g $g CLONE 5 TIMESHIFT ] TICKS$$);
SELECT pg_temp.ws('NEWGTS LASTTICK NEWGTS FIRSTTICK [] LASTTICK');
-- CLONE leaves the original under the copy; TIMECLIP, TIMESHIFT, SHRINK
SELECT pg_temp.ws($$NEWGTS 10 NaN NaN NaN 1 ADDVALUE CLONE 20 NaN NaN NaN 2 ADDVALUE$$);
SELECT pg_temp.ws($$NEWGTS 1 NaN NaN NaN 1 ADDVALUE 2 NaN NaN NaN 2 ADDVALUE 3 NaN NaN NaN 3 ADDVALUE 4 NaN NaN NaN 4 ADDVALUE 'g' STORE
$g 3 2 TIMECLIP $g '1970-01-01T00:00:00.000003Z' '1970-01-01T00:00:00.000002Z' TIMECLIP $g -1 TIMESHIFT $g CLONE 2 SHRINK SWAP -2 SHRINK$$);
SELECT pg_temp.ws('[ 1 2 ] CLONE 3 + [ 1 ] CLONE DROP');
SELECT pg_temp.ws('1 CLONE');

-------------------------------------------------------------------------------
-- BUCKETIZE (reference/frameworks/bucketizer_*.md, the tour, derived cases)
-------------------------------------------------------------------------------
SELECT $$NEWGTS 'testname' RENAME { 'label0' '42' 'label1' 'foo' } RELABEL
100 NaN NaN NaN 10 ADDVALUE 200 NaN NaN NaN 9 ADDVALUE 300 NaN NaN NaN 8 ADDVALUE
400 NaN NaN NaN 7 ADDVALUE 500 NaN NaN NaN 6 ADDVALUE 600 NaN NaN NaN 5 ADDVALUE
700 NaN NaN NaN 4 ADDVALUE 800 NaN NaN NaN 42 ADDVALUE 'g' STORE
$$ AS g8 \gset
-- span = 701 / 2 = 350, +1 as 701 % 350 != 0; lastbucket 800 kept (a count is given)
SELECT pg_temp.ws(:'g8' || '[ $g bucketizer.mean 0 0 2 ] BUCKETIZE');
SELECT pg_temp.ws(:'g8' || '[ $g bucketizer.last 0 0 2 ] BUCKETIZE');
SELECT pg_temp.ws(:'g8' || '[ $g bucketizer.count 0 0 2 ] BUCKETIZE');
-- lastbucket aligned up on the span when both lastbucket and count are 0
SELECT pg_temp.ws(:'g8' || '[ $g bucketizer.sum 0 200 0 ] BUCKETIZE');
SELECT pg_temp.ws(:'g8' || '[ $g bucketizer.sum 0 300 0 ] BUCKETIZE');
SELECT pg_temp.ws(:'g8' || '[ $g bucketizer.first 0 300 0 ] BUCKETIZE [ $g bucketizer.min 0 300 0 ] BUCKETIZE [ $g bucketizer.max 1000 300 2 ] BUCKETIZE');
SELECT pg_temp.ws(:'g8' || '[ $g bucketizer.median 0 400 0 ] BUCKETIZE [ $g 50 bucketizer.percentile 0 400 0 ] BUCKETIZE [ $g 95.0 bucketizer.percentile 0 800 0 ] BUCKETIZE [ $g 50 ''type7'' bucketizer.percentile 0 800 0 ] BUCKETIZE');
SELECT pg_temp.ws(:'g8' || '[ $g true bucketizer.sd 0 400 0 ] BUCKETIZE [ $g false bucketizer.var 0 400 0 ] BUCKETIZE [ $g ''-'' bucketizer.join 0 400 0 ] BUCKETIZE');
-- the tour: bucketizer.max over ticks 100..500, two buckets
SELECT pg_temp.ws('NEWGTS 100 NaN NaN NaN 10 ADDVALUE 200 NaN NaN NaN 9 ADDVALUE 300 NaN NaN NaN 8 ADDVALUE 400 NaN NaN NaN 7 ADDVALUE 500 NaN NaN NaN 6 ADDVALUE [ SWAP bucketizer.max 0 0 2 ] BUCKETIZE');
-- empty buckets make no point; several GTS and lists of them; NULL only sets the bucketization
SELECT pg_temp.ws(:'g8' || '[ $g [ $g ] bucketizer.count 800 100 10 ] BUCKETIZE [ $g NULL 800 100 0 ] BUCKETIZE 0 GET DUP BUCKETSPAN SWAP DUP BUCKETCOUNT SWAP LASTBUCKET');
-- a DOUBLE sum stays DOUBLE; mixed: the first value's type
SELECT pg_temp.ws('NEWGTS 1 NaN NaN NaN 1.5 ADDVALUE 2 NaN NaN NaN 2 ADDVALUE [ SWAP bucketizer.sum 0 10 0 ] BUCKETIZE');
-- a macro as bucketizer: it gets the bucket as a GTS, leaves [ tick lat lon elev value ]
SELECT pg_temp.ws(:'g8' || '[ $g <% VALUES 0 GET ''v'' STORE [ 0 NaN NaN NaN $v ] %> 0 400 0 ] BUCKETIZE');
SELECT pg_temp.ws(:'g8' || '[ $g <% VALUES 0 GET %> 0 400 0 ] BUCKETIZE');
SELECT pg_temp.ws('NEWGTS [ SWAP bucketizer.sum 0 10 0 ] BUCKETIZE');
-- errors
SELECT pg_temp.ws(:'g8' || '[ $g bucketizer.sum 0 0 0 ] BUCKETIZE');
SELECT pg_temp.ws(:'g8' || '[ $g bucketizer.sum 0 1 0 ] BUCKETIZE');
SELECT pg_temp.ws(:'g8' || '[ $g mapper.rate 0 10 0 ] BUCKETIZE');
SELECT pg_temp.ws(:'g8' || '[ $g bucketizer.sum 0 10 ] BUCKETIZE');
SELECT pg_temp.ws(:'g8' || '[ $g bucketizer.sum 0 10.0 0 ] BUCKETIZE');
SELECT pg_temp.ws(:'g8' || '[ 42 bucketizer.sum 0 10 0 ] BUCKETIZE');
SELECT pg_temp.ws('200 bucketizer.percentile');
SELECT pg_temp.ws('50 ''typeX'' bucketizer.percentile');

-------------------------------------------------------------------------------
-- MAP
-------------------------------------------------------------------------------
-- reference/frameworks/mapper_rate.md: per second of platform time (µs)
SELECT pg_temp.ws($$NEWGTS 'toto' RENAME { 'label0' '42' } RELABEL 10 NaN NaN NaN 3.0 ADDVALUE 20 NaN NaN NaN 10.0 ADDVALUE 30 NaN NaN NaN 16.0 ADDVALUE 40 NaN NaN NaN 40.0 ADDVALUE
[ SWAP mapper.rate 1 0 0 ] MAP$$);
SELECT $$NEWGTS 'm' RENAME 40 NaN NaN NaN 4 ADDVALUE 10 NaN NaN NaN 1 ADDVALUE 30 NaN NaN NaN 9 ADDVALUE 20 NaN NaN NaN 2 ADDVALUE 'g' STORE
$$ AS g4 \gset
-- windows: previous ticks (pre > 0), a time span (pre < 0), following ticks
SELECT pg_temp.ws(:'g4' || '[ $g mapper.sum 1 0 0 ] MAP [ $g mapper.sum -15 0 0 ] MAP [ $g mapper.sum 0 1 0 ] MAP [ $g mapper.delta 1 0 0 ] MAP');
-- occurrences: the first n, or (negative) the last n newest first
SELECT pg_temp.ws(:'g4' || '[ $g mapper.count 3 0 2 ] MAP [ $g mapper.max 0 0 -2 ] MAP [ $g mapper.mean 1 1 0 2 ] MAP');
-- single-value mappers: the constant's type wins
SELECT pg_temp.ws(:'g4' || '[ $g 0.5 mapper.add ] MAP [ $g 2 mapper.mul 0 0 0 ] MAP NEWGTS 1 NaN NaN NaN 2.7 ADDVALUE [ SWAP 1 mapper.add 0 0 0 ] MAP');
SELECT pg_temp.ws('NEWGTS 1 NaN NaN NaN -2.5 ADDVALUE 2 NaN NaN NaN 3 ADDVALUE 3 NaN NaN NaN NaN ADDVALUE 4 NaN NaN NaN Infinity ADDVALUE ''g'' STORE [ $g mapper.abs 0 0 0 ] MAP [ $g mapper.ceil 0 0 0 ] MAP [ $g mapper.floor 0 0 0 ] MAP [ $g mapper.round 0 0 0 ] MAP [ $g mapper.finite 0 0 0 ] MAP');
SELECT pg_temp.ws(:'g4' || '[ $g 2 mapper.pow 0 0 0 ] MAP [ $g mapper.sqrt 0 0 0 ] MAP [ $g 10 mapper.log 0 0 0 ] MAP [ $g 2 mapper.exp 0 0 0 ] MAP');
SELECT pg_temp.ws(:'g4' || '[ $g mapper.todouble 0 0 0 ] MAP [ $g mapper.tostring 0 0 0 ] MAP [ $g mapper.toboolean 0 0 0 ] MAP [ $g mapper.tostring 0 0 0 ] MAP [ SWAP mapper.tolong 0 0 0 ] MAP');
SELECT pg_temp.ws(:'g4' || '[ $g 2 mapper.gt 0 0 0 ] MAP [ $g 2 mapper.le 0 0 0 ] MAP [ $g 9.0 mapper.eq 0 0 0 ] MAP [ $g 9 mapper.ne 0 0 0 ] MAP [ $g ''x'' mapper.replace 0 0 0 ] MAP [ $g mapper.tick 0 0 0 ] MAP');
SELECT pg_temp.ws($$NEWGTS 1700000000123456 NaN NaN NaN 1 ADDVALUE 'g' STORE [ $g 'UTC' mapper.hour 0 0 0 ] MAP [ $g 'Europe/Paris' mapper.hour 0 0 0 ] MAP [ $g 'UTC' mapper.weekday 0 0 0 ] MAP [ $g 'UTC' mapper.year 0 0 0 ] MAP [ $g 'UTC' mapper.second 0 0 0 ] MAP$$);
-- on a bucketized GTS every bucket end is a tick, empty ones too
SELECT pg_temp.ws(:'g8' || '[ $g bucketizer.sum 800 100 10 ] BUCKETIZE [ SWAP mapper.count 1 0 0 ] MAP');
SELECT pg_temp.ws(:'g4' || '[ $g 2 mapper.add 1 0 0 ] MAP');
SELECT pg_temp.ws(:'g4' || '[ $g bucketizer.sum 0 0 0 ] MAP');
SELECT pg_temp.ws(:'g4' || '[ $g mapper.sum 1.5 0 0 ] MAP');
SELECT pg_temp.ws(:'g4' || '[ $g mapper.sum 0 0 0 0 ] MAP');
SELECT pg_temp.ws('[ mapper.sum 0 0 0 ] MAP');

-------------------------------------------------------------------------------
-- REDUCE (reference/frameworks/reducer_*.md, the tour, derived cases)
-------------------------------------------------------------------------------
-- reducer_mean.md: ticks where a member has no value give no mean
SELECT pg_temp.ws($$NEWGTS { 'label0' '1' } RELABEL 10 NaN NaN NaN 1 ADDVALUE 20 NaN NaN NaN 1 ADDVALUE 30 NaN NaN NaN 1 ADDVALUE 40 NaN NaN NaN 1 ADDVALUE 50 NaN NaN NaN 1 ADDVALUE 60 NaN NaN NaN 1 ADDVALUE 'a' STORE
NEWGTS { 'label0' '1' } RELABEL 10 NaN NaN NaN 5 ADDVALUE 20 NaN NaN NaN 5 ADDVALUE 30 NaN NaN NaN 5 ADDVALUE 'b' STORE
NEWGTS { 'label0' '1' } RELABEL 10 NaN NaN NaN 10 ADDVALUE 20 NaN NaN NaN 10 ADDVALUE 30 NaN NaN NaN 10 ADDVALUE 'c' STORE
[ [ $a $b $c ] [] reducer.mean ] REDUCE$$);
-- the tour
SELECT pg_temp.ws($$NEWGTS { 'label0' '42' } RELABEL 10 NaN NaN NaN -42.0 ADDVALUE 20 NaN NaN NaN -123.0 ADDVALUE
NEWGTS { 'label0' '42' } RELABEL 10 NaN NaN NaN -12.0 ADDVALUE 20 NaN NaN NaN -223.0 ADDVALUE
2 ->LIST [ SWAP [] reducer.mean ] REDUCE$$);
SELECT $$NEWGTS 'x' RENAME { 'host' 'a' 'dc' 'd1' } RELABEL 10 NaN NaN NaN 1 ADDVALUE 20 NaN NaN NaN 2 ADDVALUE 'a' STORE
NEWGTS 'x' RENAME { 'host' 'b' 'dc' 'd1' } RELABEL 10 NaN NaN NaN 10 ADDVALUE 30 NaN NaN NaN 30 ADDVALUE 'b' STORE
NEWGTS 'y' RENAME { 'host' 'b' } RELABEL 20 NaN NaN NaN 2.5 ADDVALUE 'c' STORE
$$ AS gr \gset
-- nulls: sum and count.exclude-nulls leave them out, mean and count see them
SELECT pg_temp.ws(:'gr' || '[ [ $a $b ] [] reducer.sum ] REDUCE [ [ $a $b ] [] reducer.mean ] REDUCE [ [ $a $b ] [] reducer.mean.exclude-nulls ] REDUCE');
SELECT pg_temp.ws(:'gr' || '[ [ $a $b ] [] reducer.count ] REDUCE [ [ $a $b ] [] reducer.count.exclude-nulls ] REDUCE [ [ $a $b ] [] reducer.sum.forbid-nulls ] REDUCE');
SELECT pg_temp.ws(:'gr' || '[ [ $a $b ] [] reducer.max ] REDUCE [ [ $a $b ] [] reducer.min.nonnull ] REDUCE [ [ $a $b ] [] reducer.median ] REDUCE [ [ $a $b ] [] 50 reducer.percentile ] REDUCE');
-- partitions by label (sorted), NULL: each full label set; labels kept are the common ones; the class if common
SELECT pg_temp.ws(:'gr' || '[ [ $a $b $c ] [ ''host'' ] reducer.sum ] REDUCE');
SELECT pg_temp.ws(:'gr' || '[ [ $a $b ] [ $c ] NULL reducer.sum ] REDUCE');
SELECT pg_temp.ws(:'gr' || '[ [ $a $b $c ] [ ''dc'' ] reducer.count ] REDUCE');
-- mixed types: the sum has the type of the first non-null member's value,
-- and the result GTS the type of its first value
SELECT pg_temp.ws(:'gr' || 'NEWGTS 10 NaN NaN NaN 2.5 ADDVALUE ''d'' STORE [ [ $d $a ] [] reducer.sum ] REDUCE [ [ $a $d ] [] reducer.sum ] REDUCE [ [ $c $a ] [] reducer.sum ] REDUCE');
SELECT pg_temp.ws(:'gr' || '[ [ $a $b ] [] reducer.product ] REDUCE [ [ $a $b $c ] [] reducer.product ] REDUCE [ $b mapper.product 1 0 0 ] MAP');
SELECT pg_temp.ws(:'gr' || '[ [ $a $b ] [] reducer.and ] REDUCE');
SELECT pg_temp.ws(:'gr' || '[ [ $a $b ] [] reducer.median.forbid-nulls ] REDUCE');
-- bucketized members give a bucketized result (FILLVALUE sees it)
SELECT pg_temp.ws(:'gr' || '[ [ $a $b ] bucketizer.last 40 10 0 ] BUCKETIZE [ SWAP [] reducer.sum ] REDUCE [ SWAP [ NaN NaN NaN 0 ] FILLVALUE ] 0 GET');
SELECT pg_temp.ws(:'gr' || '[ $a [] reducer.sum ] REDUCE');
SELECT pg_temp.ws(:'gr' || '[ [ $a ] [] bucketizer.sum ] REDUCE');
SELECT pg_temp.ws(:'gr' || '[ [ $a ] ''host'' reducer.sum ] REDUCE');
SELECT pg_temp.ws(:'gr' || '[ [ $a ] reducer.sum ] REDUCE');

-------------------------------------------------------------------------------
-- FILTER
-------------------------------------------------------------------------------
SELECT pg_temp.ws(:'gr' || '[ [ $a $b $c ] [] ''x'' filter.byclass ] FILTER [ [ $a $b $c ] [] ''~[xz]'' filter.byclass ] FILTER [ [ $a $b $c ] [] ''~x.+'' filter.byclass ] FILTER');
SELECT pg_temp.ws(:'gr' || '[ [ $a $b $c ] [] { ''host'' ''b'' } filter.bylabels ] FILTER [ [ $a $b $c ] [] { ''host'' ''~[ab]'' ''dc'' ''=d1'' } filter.bylabels ] FILTER');
-- the value at the last tick; a LONG threshold truncates the value
SELECT pg_temp.ws(:'gr' || '[ [ $a $b $c ] [] 2 filter.last.eq ] FILTER [ [ $a $b $c ] [] 2 filter.last.gt ] FILTER [ [ $a $b $c ] [] 2.5 filter.last.lt ] FILTER [ [ $a $b $c ] [] 30 filter.last.ge ] FILTER [ [ $a $b $c ] [] 2 filter.last.le ] FILTER [ [ $a $b $c ] [] 30 filter.last.ne ] FILTER');
-- bucketized: the value at lastbucket exactly, or the GTS is dropped
SELECT pg_temp.ws(:'gr' || '[ $b bucketizer.last 40 10 0 ] BUCKETIZE [ SWAP [] 0 filter.last.ge ] FILTER [ $b bucketizer.last 30 10 0 ] BUCKETIZE [ SWAP [] 0 filter.last.ge ] FILTER');
SELECT pg_temp.ws(:'gr' || '[ [ $a ] [] ''~('' filter.byclass ] FILTER');
SELECT pg_temp.ws(:'gr' || '[ [ $a ] [] reducer.sum ] FILTER');
SELECT pg_temp.ws('[ 1 2 ] filter.last.eq');

-------------------------------------------------------------------------------
-- fills: on bucketized GTS, a filled clone
-------------------------------------------------------------------------------
SELECT $$NEWGTS 10 NaN NaN NaN 1 ADDVALUE 40 NaN NaN NaN 4.0 ADDVALUE 60 NaN NaN NaN 6 ADDVALUE [ SWAP bucketizer.last 70 10 7 ] BUCKETIZE 0 GET 'b' STORE
$$ AS gf \gset
SELECT pg_temp.ws(:'gf' || '$b FILLPREVIOUS $b FILLNEXT $b [ NaN NaN NaN 0 ] FILLVALUE $b INTERPOLATE');
SELECT pg_temp.ws(:'gf' || '[ $b $b ] FILLPREVIOUS SIZE NEWGTS 1 NaN NaN NaN 1 ADDVALUE FILLNEXT');
SELECT pg_temp.ws(:'gf' || '$b [ 1 2 ] FILLVALUE');
SELECT pg_temp.ws('42 FILLPREVIOUS');

-------------------------------------------------------------------------------
-- a unit test in the form of the 2018 docs (reference/frameworks/*.md)
-------------------------------------------------------------------------------
SELECT pg_temp.ws($$NEWGTS 'testname' RENAME { 'label0' '42' 'label1' 'foo' } RELABEL
100 NaN NaN NaN 10 ADDVALUE 200 NaN NaN NaN 9 ADDVALUE 300 NaN NaN NaN 8 ADDVALUE 400 NaN NaN NaN 7 ADDVALUE
500 NaN NaN NaN 6 ADDVALUE 600 NaN NaN NaN 5 ADDVALUE 700 NaN NaN NaN 4 ADDVALUE 800 NaN NaN NaN 42 ADDVALUE
[ SWAP bucketizer.mean 0 0 2 ] BUCKETIZE
LIST-> DROP VALUES LIST-> DROP
8.5 == ASSERT 14.25 == ASSERT
'unit test successful'$$);

-------------------------------------------------------------------------------
-- FETCH and FIND over the store (spec 2.7's data), as exec runs them
-------------------------------------------------------------------------------
SET client_min_messages = warning;
CALL vscope.add_days('2023-11-14', '2023-11-15');
RESET client_min_messages;
SELECT vscope.create_tenant('ws_a') IS NOT NULL AS a, vscope.create_tenant('ws_b') IS NOT NULL AS b;
-- tokens of known values, so that scripts and their errors can show them
INSERT INTO vscope.tokens (tenant_id, token_hash, scopes, description)
VALUES (vscope.tenant_id('ws_a'), sha256(convert_to('ws-read-a', 'UTF8')), '{read}', 'regress ws a'),
	   (vscope.tenant_id('ws_b'), sha256(convert_to('ws-read-b', 'UTF8')), '{read}', 'regress ws b');
SELECT vscope.use_tenant('ws_a') IS NOT NULL;
SELECT vscope.put($$[
  {"metric":"vscope.host.cpu.usage.perc","timestamp":1700000000000,"value":10.5,"tags":{"datacenter":"dc1","host":"h1"}},
  {"metric":"vscope.host.cpu.usage.perc","timestamp":1700000060000,"value":20.5,"tags":{"datacenter":"dc1","host":"h1"}},
  {"metric":"vscope.host.cpu.usage.perc","timestamp":1700000120000,"value":30.0,"tags":{"datacenter":"dc1","host":"h1"}},
  {"metric":"vscope.host.cpu.usage.perc","timestamp":1700000000000,"value":1,"tags":{"datacenter":"dc1","host":"h2"}},
  {"metric":"vscope.host.cpu.usage.perc","timestamp":1700000060000,"value":2,"tags":{"datacenter":"dc1","host":"h2"}},
  {"metric":"vscope.host.cpu.usage.perc","timestamp":1700000120000,"value":4,"tags":{"datacenter":"dc1","host":"h2"}},
  {"metric":"mixed","timestamp":1700000000000,"value":1.5,"tags":{"k":"v"}},
  {"metric":"mixed","timestamp":1700000060000,"value":7,"tags":{"k":"v"}},
  {"metric":"room.consumption","timestamp":1700000000000,"value":100,"tags":{"room":"kitchen","meter":"m1"}},
  {"metric":"room.consumption","timestamp":1700000060000,"value":160,"tags":{"room":"kitchen","meter":"m1"}},
  {"metric":"room.consumption","timestamp":1700000000000,"value":50,"tags":{"room":"kitchen","meter":"m2"}},
  {"metric":"room.consumption","timestamp":1700000060000,"value":80,"tags":{"room":"kitchen","meter":"m2"}}
]$$)->>'failed' AS failed;
SELECT vscope.use_tenant('ws_b') IS NOT NULL;
SELECT vscope.put_point('vscope.host.cpu.usage.perc', '{"datacenter": "dc1", "host": "h1"}', '2023-11-14 22:13:20+00', 999.0) > 0 AS b_point;
RESET vscope.tenant;

-- exec runs as vscope_reader with no tenant: it reads nothing by itself
SET ROLE vscope_reader;
SELECT vscope.current_tenant() IS NULL AS no_tenant, count(*) AS series_seen FROM vscope.series;
-- spec 6.11.6: the range (end - 180 s, end] keeps all six points; 2 m buckets; the sum per datacenter
SELECT * FROM vscope.warp10_exec($$
[ 'ws-read-a' 'vscope.host.cpu.usage.perc' { 'datacenter' 'dc1' } 1700000120000000 180000000 ] FETCH
[ SWAP bucketizer.mean 0 2 m 0 ] BUCKETIZE
[ SWAP [ 'datacenter' ] reducer.sum ] REDUCE
$$);
-- the buckets, labelled by their end, newest first
SELECT pg_temp.ws($$[ 'ws-read-a' 'vscope.host.cpu.usage.perc' { 'datacenter' 'dc1' } 1700000120000000 180000000 ] FETCH
[ SWAP bucketizer.mean 0 2 m 0 ] BUCKETIZE$$);
-- newest first; (end - timespan, end] leaves out the start instant
SELECT pg_temp.ws($$[ 'ws-read-a' '~vscope.host.*' { 'host' '~h[12]' } 1700000120000000 120000000 ] FETCH$$);
-- a negative timespan: the last n points at or before end
SELECT pg_temp.ws($$[ 'ws-read-a' 'vscope.host.cpu.usage.perc' {} 1700000120000000 -1 ] FETCH$$);
-- two ISO 8601 strings: [start, end], both inclusive (swapped if reversed)
SELECT pg_temp.ws($$[ 'ws-read-a' '=vscope.host.cpu.usage.perc' { 'host' '=h2' } '2023-11-14T22:15:20Z' '2023-11-14T22:13:20Z' ] FETCH$$);
-- the OVH python client's form: an ISO start, NOW ISO8601 as end
SELECT pg_temp.ws($$[ 'ws-read-a' 'vscope.host.cpu.usage.perc' { 'host' 'h1' } '2023-11-14T00:00:00Z' NOW ISO8601 ] FETCH [ SWAP 95.0 bucketizer.percentile 0 60000000 0 ] BUCKETIZE$$);
-- the type of a fetched GTS is its newest point's; older points are converted
SELECT pg_temp.ws($$[ 'ws-read-a' 'mixed' {} 1700000060000000 120000000 ] FETCH [ 'ws-read-a' 'mixed' {} 1700000000000000 1 ] FETCH$$);
-- the map form: class and labels, or a selector, or selectors; start, end, timespan, count
SELECT pg_temp.ws($${ 'token' 'ws-read-a' 'class' '~vscope.*' 'labels' { 'host' 'h1' } 'end' 1700000120000000 'timespan' 60000001 } FETCH$$);
SELECT pg_temp.ws($${ 'token' 'ws-read-a' 'selector' 'mixed{}' 'start' '2023-11-14T22:13:20Z' 'end' 1700000060000000 } FETCH$$);
SELECT pg_temp.ws($${ 'token' 'ws-read-a' 'selectors' [ 'mixed{}' '~vscope.*{host=h2}' ] 'end' 1700000120000000 'count' 1 } FETCH$$);
-- a type forced: 'type', FETCHLONG, FETCHDOUBLE
SELECT pg_temp.ws($${ 'token' 'ws-read-a' 'selector' 'mixed{}' 'end' 1700000060000000 'timespan' -2 'type' 'DOUBLE' } FETCH$$);
SELECT pg_temp.ws($$[ 'ws-read-a' 'mixed' {} 1700000060000000 -2 ] FETCHLONG [ 'ws-read-a' 'mixed' {} 1700000060000000 -2 ] FETCHDOUBLE$$);
SELECT pg_temp.ws($${ 'token' 'ws-read-a' 'selector' 'mixed{}' 'end' 1 'timespan' 1 'type' 'BYTES' } FETCH$$);
-- a series with no point in range is left out; keepempty keeps it
SELECT pg_temp.ws($${ 'token' 'ws-read-a' 'selector' 'mixed{}' 'end' 1 'timespan' 1 } FETCH { 'token' 'ws-read-a' 'selector' 'mixed{}' 'end' 1 'timespan' 1 'keepempty' true } FETCH$$);
-- FIND: the series without points
SELECT pg_temp.ws($$[ 'ws-read-a' '~.*' {} ] FIND$$);
SELECT pg_temp.ws($$[ 'ws-read-a' 'room.consumption' { 'meter' 'm2' } ] FIND { 'token' 'ws-read-a' 'selector' 'mixed{}' } FIND$$);
-- the OVH guide's script: max per minute, sum per room, rate
SELECT pg_temp.ws($$'ws-read-a' 'token' STORE
[ $token 'room.consumption' {} 1700000060000000 1 h ] FETCH
[ SWAP bucketizer.max 0 1 m 0 ] BUCKETIZE
[ SWAP [ 'room' ] reducer.sum ] REDUCE
[ SWAP mapper.rate 1 0 0 ] MAP$$);
-- Grafana's query builder: variables, LINEON, then the frameworks and SORT
SELECT pg_temp.ws($$1700000000000000 'start' STORE '2023-11-14T22:13:20Z' 'startISO' STORE 1700000120000000 'end' STORE 180000000 'interval' STORE
LINEON
[ 'ws-read-a' 'vscope.host.cpu.usage.perc' { 'datacenter' 'dc1' } $end $interval ] FETCH
[ SWAP bucketizer.mean $end $interval 3 / 3 ] BUCKETIZE
[ SWAP [ 'host' ] reducer.sum ] REDUCE
[ SWAP [ ] 10 filter.last.gt ] FILTER
SORT$$);
-- counts: points fetched and operations
SELECT ops, fetched FROM vscope.warp10_exec($$[ 'ws-read-a' '~.*' {} 1700000120000000 -10 ] FETCH DROP$$);

-- tenancy: a token sees its tenant only; a script cannot use two tenants
SELECT pg_temp.ws($$[ 'ws-read-b' 'vscope.host.cpu.usage.perc' { 'host' 'h1' } 1700000000000000 -5 ] FETCH$$);
SELECT pg_temp.ws($$[ 'ws-read-a' '~.*' {} ] FIND SIZE [ 'ws-read-b' '~.*' {} ] FIND$$);
-- a bad token is FETCH's own error; FIND's too
SELECT pg_temp.ws($$[ 'nosuchtoken' '~.*' {} 0 -1 ] FETCH$$);
SELECT pg_temp.ws($$[ 'nosuchtoken' '~.*' {} ] FIND$$);
-- argument errors
SELECT pg_temp.ws($$[ 'ws-read-a' '~.*' {} 0 ] FETCH$$);
SELECT pg_temp.ws($$[ 'ws-read-a' '~.*' {} 0 '2023-11-14T22:13:20Z' ] FETCH$$);
SELECT pg_temp.ws($$[ 'ws-read-a' '~.*' { 'k' 1 } 0 -1 ] FETCH$$);
SELECT pg_temp.ws($$[ 'ws-read-a' 42 {} 0 -1 ] FETCH$$);
SELECT pg_temp.ws($$[ 'ws-read-a' '~.*' {} 'x' 'y' ] FETCH$$);
SELECT pg_temp.ws($${ 'token' 'ws-read-a' 'class' '~.*' 'labels' {} } FETCH$$);
SELECT pg_temp.ws($${ 'token' 'ws-read-a' 'class' '~.*' 'labels' {} 'end' 1 } FETCH$$);
SELECT pg_temp.ws($${ 'token' 'ws-read-a' 'class' '~.*' 'labels' {} 'start' 0 'end' 1 'timespan' 1 } FETCH$$);
SELECT pg_temp.ws($${ 'token' 'ws-read-a' 'class' '~.*' 'labels' {} 'end' 1 'timespan' -1 'count' 1 } FETCH$$);
SELECT pg_temp.ws($${ 'token' 'ws-read-a' 'end' 1 'timespan' 1 } FETCH$$);
SELECT pg_temp.ws('{ ''class'' ''x'' } FETCH');
SELECT pg_temp.ws('42 FETCH');
SELECT pg_temp.ws($$[ 'ws-read-a' '~(' {} 1 -1 ] FETCH$$);
RESET ROLE;

-------------------------------------------------------------------------------
-- the limits, in Warp 10's words (settings only a superuser changes)
-------------------------------------------------------------------------------
SHOW vscope.warp10_max_ops;
SHOW vscope.warp10_max_fetch;
SHOW vscope.warp10_max_gts;
SHOW vscope.warp10_max_buckets;
SHOW vscope.warp10_max_depth;
SHOW vscope.warp10_max_recursion;
SHOW vscope.warp10_max_loop;
SHOW vscope.warp10_max_symbols;
SHOW vscope.warp10_max_memory;
SET ROLE vscope_reader;
SET vscope.warp10_max_ops = 1000000;
RESET ROLE;
-- operations (an endless loop), stack depth, recursion, symbols, buckets
SELECT pg_temp.ws('<% true %> <% %> WHILE');
SELECT pg_temp.ws('1 2000 <% %> FOR');
SELECT right(pg_temp.ws_error('<% $f EVAL %> ''f'' STORE $f EVAL'), 60);
SELECT pg_temp.ws('1 100 <% TOSTRING ''v'' SWAP + 1 SWAP STORE %> FOR');
SELECT pg_temp.ws('NEWGTS 0 NaN NaN NaN 1 ADDVALUE 1 d NaN NaN NaN 1 ADDVALUE [ SWAP bucketizer.sum 0 1 s 0 ] BUCKETIZE');
SELECT pg_temp.ws('NEWGTS 0 NaN NaN NaN 1 ADDVALUE [ SWAP bucketizer.sum 0 1 s 100001 ] BUCKETIZE');
-- REDUCE may join far buckets: MAP and the fills over them stop at the same limit
SELECT pg_temp.ws('NEWGTS 0 NaN NaN NaN 1 ADDVALUE [ SWAP NULL 0 1 1 ] BUCKETIZE NEWGTS 1000000000 NaN NaN NaN 1 ADDVALUE [ SWAP NULL 0 1 1 ] BUCKETIZE APPEND [ SWAP [] reducer.sum ] REDUCE DUP 0 GET BUCKETCOUNT SWAP [ SWAP mapper.count 0 0 0 ] MAP');
SELECT pg_temp.ws('NEWGTS 0 NaN NaN NaN 1 ADDVALUE [ SWAP NULL 0 1 1 ] BUCKETIZE NEWGTS 1000000000 NaN NaN NaN 1 ADDVALUE [ SWAP NULL 0 1 1 ] BUCKETIZE APPEND [ SWAP [] reducer.sum ] REDUCE INTERPOLATE');
-- memory: a list doubling itself
SET vscope.warp10_max_memory = '8MB';
SELECT pg_temp.ws('[ 1 ] 1 40 <% DROP DUP APPEND %> FOR');
SELECT pg_temp.ws($$'x' 1 40 <% DROP DUP + %> FOR$$);
RESET vscope.warp10_max_memory;
-- a loop running too long, and the statement timeout, end as script errors
SET vscope.warp10_max_ops = 100000000;
SET vscope.warp10_max_loop = '20ms';
SELECT pg_temp.ws_error('<% true %> <% %> WHILE');
SELECT pg_temp.ws_error('0 MAXLONG <% DROP %> FOR');
RESET vscope.warp10_max_loop;
SET statement_timeout = '200ms';
-- a statement timeout is not the script's error: it ends the statement as
-- PostgreSQL's own cancel (57014), not as a WarpScript exception
\set VERBOSITY terse
SELECT vscope.warp10_exec('<% true %> <% %> WHILE');
\set VERBOSITY default
RESET statement_timeout;
RESET vscope.warp10_max_ops;
-- points and series fetched
SET vscope.warp10_max_fetch = 5;
SELECT * FROM vscope.warp10_exec($$[ 'ws-read-a' 'vscope.host.cpu.usage.perc' {} 1700000120000000 -2 ] FETCH DROP [ 'ws-read-a' 'vscope.host.cpu.usage.perc' {} 1700000120000000 -1 ] FETCH$$);
SELECT pg_temp.ws($$[ 'ws-read-a' 'vscope.host.cpu.usage.perc' {} 1700000120000000 -3 ] FETCH$$);
-- a time range is read no further than the points the script may still fetch
SELECT pg_temp.ws($$[ 'ws-read-a' 'vscope.host.cpu.usage.perc' {} 1700000120000000 1 h ] FETCH$$);
RESET vscope.warp10_max_fetch;
SET vscope.warp10_max_gts = 2;
SELECT pg_temp.ws($$[ 'ws-read-a' '~.*' {} ] FIND$$);
RESET vscope.warp10_max_gts;
-- the backend is fine afterwards
SELECT pg_temp.ws('1 2 +');
DROP FUNCTION pg_temp.ws(text);
DROP FUNCTION pg_temp.ws_error(text);
