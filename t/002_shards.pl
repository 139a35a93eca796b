# t/002_shards.pl: one PL/Proxy proxy in front of four shards, each with the
# extension.  40 clinics placed by the routing function; loads through the
# proxy equal the shard's, a save through the proxy changes only its shard,
# errors arrive with the shard's SQLSTATE, MESSAGE, DETAIL and HINT, the
# tenant rules hold for a web role calling the proxy, and the latency of a
# load through the proxy is measured against a direct load.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SiCommon;
use Test::More;

my $n_shards = 4;
my $n_clinics = 40;
my $latency_clinic = 40;    # 50 items x 3 practitioners
my $latency_calls = $ENV{SI_LATENCY_CALLS} // 200;

# Shards: the extension, the shard-side entry points, two roles for the
# proxy to connect as, and identity sequences in disjoint ranges (so ids are
# unique over the whole cluster and a clinic could move between shards).
my @shards;
for my $p (0 .. $n_shards - 1)
{
	my $s = si_node("shard$p");
	my $first_id = $p * 1_000_000_000 + 1;
	$s->command_ok(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $s->connstr('postgres'),
		  '-f', repo_file('proxy/service_items_shard.sql') ],
		"shard $p: proxy/service_items_shard.sql");
	$s->safe_psql('postgres', qq{
		-- Proxied calls of untrusted callers (web roles): subject to RLS.
		CREATE ROLE si_proxy LOGIN;
		-- Proxied calls of trusted callers (DBA, application server): no claims needed.
		CREATE ROLE si_proxy_trusted LOGIN BYPASSRLS;
		GRANT USAGE ON SCHEMA service_items, service_items_shard TO si_proxy, si_proxy_trusted;
		GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA service_items, service_items_shard TO si_proxy, si_proxy_trusted;
		GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA service_items TO si_proxy, si_proxy_trusted;
		DO \$\$
		DECLARE s regclass;
		BEGIN
		    FOR s IN SELECT c.oid FROM pg_class c
		              WHERE c.relnamespace = 'service_items'::regnamespace AND c.relkind = 'S'
		                AND c.relname <> 'clinics_id_seq'
		    LOOP
		        EXECUTE format('ALTER SEQUENCE %s RESTART WITH %s', s, $first_id);
		    END LOOP;
		END \$\$;});
	push @shards, $s;
}

# The proxy: PL/Proxy, the cluster as an SQL/MED server, user mappings, the
# proxy layer, and the roles that call it.
my $proxy = PostgreSQL::Test::Cluster->new('proxy');
$proxy->init;
$proxy->append_conf('postgresql.conf', 'log_statement = none');
$proxy->start;
$proxy->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $proxy->connstr('postgres'),
	  '-f', repo_file('proxy/service_items_proxy.sql') ],
	'proxy: proxy/service_items_proxy.sql');
my $partitions = join(', ',
	map { sprintf("p%d 'host=%s port=%d dbname=postgres'", $_, $shards[$_]->host, $shards[$_]->port) }
	  0 .. $n_shards - 1);
$proxy->safe_psql('postgres', qq{
	CREATE SERVER service_items_cluster FOREIGN DATA WRAPPER plproxy OPTIONS ($partitions);
	CREATE ROLE web NOLOGIN;           -- PostgREST's web role
	CREATE ROLE app_server NOLOGIN;    -- a trusted application server
	CREATE USER MAPPING FOR PUBLIC SERVER service_items_cluster OPTIONS (user 'si_proxy');
	CREATE USER MAPPING FOR app_server SERVER service_items_cluster OPTIONS (user 'si_proxy_trusted');
	CREATE USER MAPPING FOR CURRENT_USER SERVER service_items_cluster OPTIONS (user 'si_proxy_trusted');
	GRANT USAGE ON FOREIGN SERVER service_items_cluster TO web, app_server;
	GRANT USAGE ON SCHEMA service_items, service_items_proxy TO web, app_server;
	GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA service_items, service_items_proxy TO web, app_server;
});

# Same names, arguments, defaults and results as the extension.
my $sig_sql = q{
	SELECT string_agg(format('%s(%s) -> %s [%s]', p.proname, pg_get_function_arguments(p.oid),
	                         pg_get_function_result(p.oid), p.provolatile), E'\n' ORDER BY p.proname)
	  FROM pg_proc p
	 WHERE p.pronamespace = 'service_items'::regnamespace
	   AND p.proname IN ('bulk_load_associations', 'service_item_associations',
	                     'bulk_save_associations', 'validate_associations',
	                     'load_service_settings', 'save_service_settings',
	                     'export_configuration', 'import_configuration')};
is($proxy->safe_psql('postgres', $sig_sql), $shards[0]->safe_psql('postgres', $sig_sql),
	'the proxy exposes the eight per-clinic functions with the extension\'s signatures and volatility');

# Placement: the routing function decides; each clinic is created on its
# shard with its id.
my %owner;
my @on_shard = map { [] } 1 .. $n_shards;
for my $line (split /\n/, $proxy->safe_psql('postgres',
	"SELECT c, service_items_proxy.clinic_partition(c, $n_shards) FROM generate_series(1, $n_clinics) c"))
{
	my ($c, $p) = split /\|/, $line;
	$owner{$c} = $p;
	push @{ $on_shard[$p] }, $c;
}
sub clinic_size { my ($c) = @_; return $c == $latency_clinic ? 50 : ($c % 5) * 4 }
for my $p (0 .. $n_shards - 1)
{
	cmp_ok(scalar @{ $on_shard[$p] }, '>=', 3, "shard $p owns clinics @{ $on_shard[$p] }");
	my $sql = join("\n", map {
		"SELECT setval('service_items.clinics_id_seq', $_, false);"
		  . " SELECT service_items_demo.create_clinic(" . clinic_size($_) . ");" } @{ $on_shard[$p] });
	# Output: setval's value, then create_clinic's id, for each clinic.
	my @made = split /\n/, $shards[$p]->safe_psql('postgres', $sql);
	my @ids = @made[ grep { $_ % 2 } 0 .. $#made ];
	is("@ids", "@{ $on_shard[$p] }", "shard $p: clinics created with the ids the routing gives them");
}
for my $p (0 .. $n_shards - 1)
{
	is($shards[$p]->safe_psql('postgres', 'SELECT string_agg(id::text, \' \' ORDER BY id) FROM service_items.clinics'),
		"@{ $on_shard[$p] }", "shard $p holds exactly its clinics");
}

# rows($node, $sql): "key|value" lines as a hash.
sub rows
{
	my ($node, $sql, %opts) = @_;
	my %h;
	for my $line (split /\n/, $node->safe_psql('postgres', $sql, %opts))
	{
		my ($k, $v) = split /\|/, $line, 2;
		$h{$k} = $v;
	}
	return \%h;
}

# Loads: through the proxy, equal to the owning shard's, for every clinic.
# items(c): some of its live items, one deleted, one of another clinic and
# an unknown id (the loader ignores the last three).
my %items;
for my $p (0 .. $n_shards - 1)
{
	my $r = rows($shards[$p], q{
		SELECT c.id, 'ARRAY[' || concat_ws(', ',
		           (SELECT string_agg(id::text, ', ') FROM (SELECT id FROM service_items.appointment_types
		             WHERE clinic_id = c.id AND NOT is_deleted ORDER BY id DESC LIMIT 3) x),
		           (SELECT max(id) FROM service_items.appointment_types WHERE clinic_id = c.id AND is_deleted),
		           (SELECT max(id) FROM service_items.appointment_types WHERE clinic_id <> c.id),
		           '-1') || ']::bigint[]'
		  FROM service_items.clinics c});
	$items{$_} = $r->{$_} for keys %$r;
}
my $values = join(', ', map { "($_, $items{$_})" } 1 .. $n_clinics);
my @load_calls = (
	[ 'default', 'service_items.bulk_load_associations(c)' ],
	[ 'sections off', 'service_items.bulk_load_associations(c, NULL, false, true, false)' ],
	[ 'some items', 'service_items.bulk_load_associations(c, items, true, false, true)' ],
	[ 'named arguments', 'service_items.bulk_load_associations(clinic_id => c, include_follow_up_messages => false)' ],
	[ 'streaming twin', "(SELECT string_agg(s.service_item_id || '=' || s.associations, ';') FROM service_items.service_item_associations(c, items) s)" ],
	[ 'settings page', 'service_items.load_service_settings(c)' ],
	[ 'export', 'service_items.export_configuration(c)' ],
);
for my $call (@load_calls)
{
	my ($what, $expr) = @$call;
	my $via_proxy = rows($proxy, "SELECT c, $expr FROM (VALUES $values) v(c, items) ORDER BY c");
	my ($same, @differ) = (0);
	for my $c (1 .. $n_clinics)
	{
		my $direct = $shards[ $owner{$c} ]->safe_psql('postgres',
			"SELECT $expr FROM (VALUES ($c, $items{$c})) v(c, items)");
		if (defined $via_proxy->{$c} && $via_proxy->{$c} eq $direct) { $same++ }
		else { push @differ, $c }
	}
	is($same, $n_clinics, "$what: the load of each of the $n_clinics clinics through the proxy equals its shard's")
	  or diag("differ: @differ");
}
like(rows($proxy, "SELECT $latency_clinic, service_items.bulk_load_associations($latency_clinic)")->{$latency_clinic},
	qr/"revenue_share":\d/, 'a trusted caller (no claims) sees revenue shares through the proxy');

# A save through the proxy changes its clinic on its shard, and nothing else.
my $checksums_sql = 'SELECT id, service_items_demo.clinic_checksum(id) FROM service_items.clinics';
sub all_checksums
{
	my %h;
	for my $p (0 .. $n_shards - 1)
	{
		my $r = rows($shards[$p], $checksums_sql);
		$h{$_} = "$p:$r->{$_}" for keys %$r;
	}
	return \%h;
}
# payload($c): sets the resource requirements and follow-ups of the
# clinic's first two live items (a resource type of that clinic).
sub payload
{
	my ($c, $text) = @_;
	return $shards[ $owner{$c} ]->safe_psql('postgres', qq{
		WITH items AS (SELECT id FROM service_items.appointment_types
		                WHERE clinic_id = $c AND NOT is_deleted ORDER BY id LIMIT 2),
		     rt AS (SELECT min(id) AS id FROM service_items.resource_types WHERE clinic_id = $c)
		SELECT jsonb_build_object(
		    'resource_requirements', (SELECT jsonb_object_agg(i.id::text, jsonb_build_array(
		        jsonb_build_object('resource_type_id', rt.id, 'quantity', 7))) FROM items i, rt),
		    'follow_up_messages', (SELECT jsonb_object_agg(i.id::text, jsonb_build_array(
		        jsonb_build_object('timing_mode', 'hours_after', 'hours_after', 2,
		                           'message_template', '$text', 'display_order', 1))) FROM items i))});
}
my $target = 17;    # 12 items
my $before = all_checksums();
is(scalar keys %$before, $n_clinics, 'checksums of every clinic on every shard');
my $payload = payload($target, 'Saved through the proxy');
my $saved = $proxy->safe_psql('postgres',
	"SELECT service_items.bulk_save_associations($target, '$payload'::jsonb)");
like($saved, qr/Saved through the proxy/, 'a save through the proxy returns the saved associations');
my $after = all_checksums();
my @changed = grep { $before->{$_} ne $after->{$_} } sort { $a <=> $b } keys %$before;
is("@changed", $target, "the save changed clinic $target (shard $owner{$target}) and no other clinic on any shard");
is($shards[ $owner{$target} ]->safe_psql('postgres', qq{
		SELECT (SELECT jsonb_agg(e ORDER BY e ->> 'service_item_id')
		          FROM jsonb_array_elements(\$j\$$saved\$j\$::jsonb -> 'associations') e)
		     = (SELECT jsonb_agg(e ORDER BY e ->> 'service_item_id')
		          FROM jsonb_array_elements(service_items.bulk_load_associations($target,
		               ARRAY(SELECT (e ->> 'service_item_id')::bigint
		                       FROM jsonb_array_elements(\$j\$$saved\$j\$::jsonb -> 'associations') e))::jsonb
		               -> 'associations') e)}),
	't', 'the associations the save returned equal a direct load of those items on the shard');

# Each proxied call is a transaction of its own on the shard: a ROLLBACK on
# the proxy does not undo a save that went through.
$payload = payload($target, 'Committed on the shard');
$proxy->safe_psql('postgres',
	"BEGIN; SELECT service_items.bulk_save_associations($target, '$payload'::jsonb); ROLLBACK;");
like($shards[ $owner{$target} ]->safe_psql('postgres', "SELECT service_items.bulk_load_associations($target)"),
	qr/Committed on the shard/, 'a save through the proxy stays on the shard when the proxy transaction rolls back');

# Errors: the shard's SQLSTATE, MESSAGE, DETAIL and HINT, as a direct call.
sub same_error
{
	my ($what, $sql, %opts) = @_;
	my $c = $opts{clinic} // $target;
	my $via = sql_error($proxy, 'postgres', $sql, setup => $opts{proxy_setup});
	my $direct = sql_error($shards[ $owner{$c} ], 'postgres', $sql, setup => $opts{shard_setup});
	if (!$via || !$direct)
	{
		fail("$what: fails through the proxy and directly");
		return;
	}
	is($via->{sqlstate}, $opts{sqlstate}, "$what: SQLSTATE $opts{sqlstate} through the proxy");
	is($direct->{sqlstate}, $opts{sqlstate}, "$what: SQLSTATE $opts{sqlstate} directly");
	is($via->{message}, $direct->{message}, "$what: same MESSAGE ($direct->{message})");
	is($via->{detail}, $direct->{detail}, "$what: same DETAIL");
	is($via->{hint}, $direct->{hint}, "$what: same HINT");
	return $via;
}
my $invalid = q('{"practitioner_assignments": {"x": [1], "999999": []}, "billing_scenarios": {"1-2": [{"amount": -1, "revenue_share": 5}]}, "bogus": true}'::jsonb);
my $e = same_error('invalid payload', "SELECT service_items.bulk_save_associations($target, $invalid)", sqlstate => '22023');
like($e->{detail} // '', qr/^\[\{"path": /, 'the DETAIL is the JSON array of errors');
my $item = $shards[ $owner{$target} ]->safe_psql('postgres',
	"SELECT min(id) FROM service_items.appointment_types WHERE clinic_id = $target AND NOT is_deleted");
$e = same_error('stale expected_versions',
	"SELECT service_items.bulk_save_associations($target, '{\"expected_versions\": {\"$item\": 1}, \"follow_up_messages\": {\"$item\": []}}')",
	sqlstate => 'PT409');
like($e->{detail} // '', qr/"expected": 1, "actual": [2-9]/, 'the DETAIL lists the conflict');
same_error('NULL clinic_id', 'SELECT service_items.bulk_load_associations(NULL)', clinic => 1, sqlstate => '22004');
same_error('NULL payload', "SELECT service_items.bulk_save_associations($target, NULL)", sqlstate => '22004');
is($proxy->safe_psql('postgres', "SELECT service_items.validate_associations($target, $invalid)"),
	$shards[ $owner{$target} ]->safe_psql('postgres', "SELECT service_items.validate_associations($target, $invalid)"),
	'validate_associations through the proxy returns the shard\'s answer');
is(sql_error($proxy, 'postgres', "SELECT service_items.bulk_save_associations($target, $invalid)")->{stderr} =~ /REMOTE|Remote /
	? 'prefixed' : 'clean', 'clean', 'no PL/Proxy prefix left in what the caller sees');

same_error('invalid settings payload', "SELECT service_items.save_service_settings($target, '{\"bogus\": 1, \"service_items\": [{\"key\": 7}]}')",
	sqlstate => '22023');
same_error('import of a non-export', "SELECT service_items.import_configuration($target, '{}', '{}')",
	sqlstate => '22023');

# A configuration copied between shards through the proxy: export from one
# clinic, import into a clinic on another shard (mapping practitioners by
# their keys), then the two exports agree.
{
	my $from = $latency_clinic;
	my ($to) = grep { $owner{$_} != $owner{$from} && clinic_size($_) > 0 } 1 .. $n_clinics;
	my $map = $shards[ $owner{$to} ]->safe_psql('postgres', qq{
		SELECT jsonb_object_agg('p' || n, user_id) FROM (
		    SELECT user_id, row_number() OVER (ORDER BY user_id) AS n
		      FROM service_items.clinic_members
		     WHERE clinic_id = $to AND is_active AND 'practitioner' = ANY (roles)) m});
	my ($ret, $out, $err) = $proxy->psql('postgres', qq{
		SELECT service_items.import_configuration($to, service_items.export_configuration($from), '$map', replace => true) IS NOT NULL});
	is($ret, 0, "import_configuration through the proxy: clinic $from (shard $owner{$from}) into clinic $to (shard $owner{$to})")
	  or diag($err);
	my $export_sql = "SELECT service_items.export_configuration(%d) - 'clinic' - 'practitioners'";
	is($proxy->safe_psql('postgres', sprintf($export_sql, $to)), $proxy->safe_psql('postgres', sprintf($export_sql, $from)),
		'the two clinics now export the same configuration');
	is($proxy->safe_psql('postgres', "SELECT service_items.load_service_settings($to)"),
		$shards[ $owner{$to} ]->safe_psql('postgres', "SELECT service_items.load_service_settings($to)"),
		'and the copy loads through the proxy as on its shard');
}

# Tenant rules for a web role calling the proxy: the claims travel with the
# call and the shard decides, exactly as for a direct call (the shard role
# si_proxy does not bypass row-level security).
my $other_same_shard = (grep { $_ != $target } @{ $on_shard[ $owner{$target} ] })[0];
my $other_shard_clinic = (grep { $owner{$_} != $owner{$target} } 1 .. $n_clinics)[0];
sub claims { my ($c, @roles) = @_; return qq({"clinic_id": $c, "roles": [) . join(', ', map { qq("$_") } @roles) . qq(], "sub": "user-$c"}) }
sub as_web { my ($claims) = @_; return "SET ROLE web;" . (defined $claims ? " SELECT set_config('request.jwt.claims', '$claims', false);" : '') }
sub as_shard_web { my ($claims) = @_; return "SET ROLE si_proxy;" . (defined $claims ? " SELECT set_config('request.jwt.claims', '$claims', false);" : '') }
sub last_line { my @l = split /\n/, $_[0]; return $l[-1] }

for my $roles ([ 'admin' ], [ 'staff' ], [ 'practitioner' ])
{
	my $cl = claims($target, @$roles);
	my $via = last_line($proxy->safe_psql('postgres', as_web($cl) . " SELECT service_items.bulk_load_associations($target)"));
	my $direct = last_line($shards[ $owner{$target} ]->safe_psql('postgres',
		as_shard_web($cl) . " SELECT service_items.bulk_load_associations($target)"));
	is($via, $direct, "web role, own clinic, roles [@$roles]: the proxy's load equals a direct one with the same claims");
	if ($roles->[0] eq 'admin') { like($via, qr/"revenue_share":\d/, 'an admin sees revenue shares') }
	else { unlike($via, qr/"revenue_share":\d/, "[@$roles] sees no revenue share (null)") }
}
$e = same_error('web role, another clinic on the same shard',
	"SELECT service_items.bulk_load_associations($other_same_shard)",
	proxy_setup => as_web(claims($target, 'admin')), shard_setup => as_shard_web(claims($target, 'admin')),
	clinic => $other_same_shard, sqlstate => '42501');
$e = same_error('web role, a clinic on another shard',
	"SELECT service_items.bulk_load_associations($other_shard_clinic)",
	proxy_setup => as_web(claims($target, 'admin')), shard_setup => as_shard_web(claims($target, 'admin')),
	clinic => $other_shard_clinic, sqlstate => '42501');
$e = same_error('web role without claims', "SELECT service_items.bulk_load_associations($target)",
	proxy_setup => as_web(undef), shard_setup => as_shard_web(undef), sqlstate => '42501');
$e = same_error('web role, non-admin save', "SELECT service_items.bulk_save_associations($target, '{}')",
	proxy_setup => as_web(claims($target, 'practitioner', 'staff')),
	shard_setup => as_shard_web(claims($target, 'practitioner', 'staff')), sqlstate => '42501');
$e = same_error('web role, non-admin validate', "SELECT service_items.validate_associations($target, '{}')",
	proxy_setup => as_web(claims($target, 'staff')), shard_setup => as_shard_web(claims($target, 'staff')),
	sqlstate => '42501');
$e = same_error('web role, streaming twin of another clinic',
	"SELECT count(*) FROM service_items.service_item_associations($other_shard_clinic)",
	proxy_setup => as_web(claims($target, 'admin')), shard_setup => as_shard_web(claims($target, 'admin')),
	clinic => $other_shard_clinic, sqlstate => '42501');

# An admin's save through the proxy: allowed, audited with the claims' sub.
$payload = payload($target, 'Saved by a web admin');
my $out = last_line($proxy->safe_psql('postgres',
	as_web(claims($target, 'admin')) . " SELECT service_items.bulk_save_associations($target, '$payload'::jsonb) IS NOT NULL"));
is($out, 't', 'web role, admin of its clinic: the save through the proxy succeeds');
is($shards[ $owner{$target} ]->safe_psql('postgres',
		"SELECT db_user || ' ' || claims_sub FROM service_items.association_audit WHERE clinic_id = $target ORDER BY id DESC LIMIT 1"),
	"si_proxy user-$target", 'the shard audited it as the proxy role with the caller\'s sub');

# Claims live for one call only: on the same proxy session (same pooled
# PL/Proxy connection to the shard), a call after the claims are cleared is
# refused, and a trusted role's call without claims is not given them.
my ($ret, $stdout, $stderr) = $proxy->psql('postgres', as_web(claims($target, 'admin')) . qq{
	SELECT service_items.bulk_load_associations($target) IS NOT NULL;
	SELECT set_config('request.jwt.claims', '', false);
	SELECT service_items.bulk_load_associations($target);});
like($stderr, qr/permission denied for clinic $target/,
	'claims do not stay on the pooled shard connection after the call');
($ret, $stdout, $stderr) = $proxy->psql('postgres', qq{
	SET ROLE app_server;
	SELECT length(service_items.bulk_load_associations($target)::text) > 0;
	SELECT count(*) FROM service_items.service_item_associations($target);});
is($ret, 0, 'a trusted role (mapped to a BYPASSRLS shard role) loads without claims') or diag($stderr);

# A hostile search_path on the proxy changes nothing: look-alike functions
# and operators in a schema searched before pg_catalog are never called.
$proxy->safe_psql('postgres', q{
	CREATE SCHEMA evil;
	GRANT USAGE ON SCHEMA evil TO PUBLIC;
	CREATE FUNCTION evil.current_setting(text, boolean) RETURNS text LANGUAGE sql
	    AS $$ SELECT '{"clinic_id": 1, "roles": ["admin"]}' $$;
	CREATE FUNCTION evil.hashint8(bigint) RETURNS integer LANGUAGE sql AS $$ SELECT 0 $$;
	CREATE FUNCTION evil.coalesce_trap(integer, integer) RETURNS integer LANGUAGE sql AS $$ SELECT 0 $$;
	CREATE OPERATOR evil.& (LEFTARG = integer, RIGHTARG = integer, FUNCTION = evil.coalesce_trap);
	CREATE FUNCTION evil.starts_with(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT false $$;
	CREATE FUNCTION evil.substring(text, text) RETURNS text LANGUAGE sql AS $$ SELECT 'trapped' $$;
	GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA evil TO PUBLIC;});
{
	my $hostile = "SET search_path = evil, pg_catalog, public;";
	my $cl = claims($target, 'staff');
	is(last_line($proxy->safe_psql('postgres', as_web($cl) . " $hostile SELECT service_items.bulk_load_associations($target)")),
		last_line($proxy->safe_psql('postgres', as_web($cl) . " SELECT service_items.bulk_load_associations($target)")),
		'hostile search_path on the proxy: the same load');
	is(last_line($proxy->safe_psql('postgres',
			"$hostile SELECT service_items_proxy.clinic_partition(c, $n_shards) FROM generate_series(1, $n_clinics) c")),
		last_line($proxy->safe_psql('postgres',
			"SELECT service_items_proxy.clinic_partition(c, $n_shards) FROM generate_series(1, $n_clinics) c")),
		'hostile search_path on the proxy: the same routing');
	my $err = sql_error($proxy, 'postgres', "SELECT service_items.bulk_save_associations($target, $invalid)",
		setup => as_web(claims($target, 'admin')) . " $hostile");
	my $ref = sql_error($proxy, 'postgres', "SELECT service_items.bulk_save_associations($target, $invalid)",
		setup => as_web(claims($target, 'admin')));
	is_deeply([ @$err{qw(sqlstate message detail hint)} ], [ @$ref{qw(sqlstate message detail hint)} ],
		'hostile search_path on the proxy: the same error, unwrapped');
	my $denied = sql_error($proxy, 'postgres', "SELECT service_items.bulk_load_associations(1)",
		setup => as_web(undef) . " $hostile");
	is($denied->{sqlstate}, '42501', 'a look-alike current_setting() does not forge claims');
}
$proxy->safe_psql('postgres', 'DROP SCHEMA evil CASCADE');

# Latency: a load of the 50-item clinic through the proxy versus directly on
# its shard, one client, pgbench, median of the per-call latencies.  The
# calls alternate in rounds (direct, proxy, direct, ...) so that a change
# in the machine's load affects both sides alike.
my $tmp = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$tmp/load.sql",
	"SELECT service_items.bulk_load_associations($latency_clinic);\n");
my $shard = $shards[ $owner{$latency_clinic} ];
my $rounds = 4;
my $per_round = int($latency_calls / $rounds);
my %nodes = (direct => $shard, proxy => $proxy);
for my $tag ('direct', 'proxy')
{
	$nodes{$tag}->command_ok([ 'pgbench', '-n', '-c', '1', '-t', '20', '-f', "$tmp/load.sql", 'postgres' ],
		"$tag: warm-up");
}
for my $round (1 .. $rounds)
{
	for my $tag ('direct', 'proxy')
	{
		$nodes{$tag}->command_ok([ 'pgbench', '-n', '-c', '1', '-t', $per_round, '-f', "$tmp/load.sql",
				'-l', "--log-prefix=$tmp/$tag-$round", 'postgres' ],
			"$tag, round $round: $per_round loads");
	}
}
my %ms;
for my $tag ('direct', 'proxy')
{
	my @us;
	for my $f (glob "$tmp/$tag-*")
	{
		push @us, map { (split / /)[2] } grep { /\S/ } split /\n/, slurp_file($f);
	}
	is(scalar @us, $rounds * $per_round, "$tag: every latency logged");
	my @sorted = sort { $a <=> $b } @us;
	$ms{$tag} = [ median(@us) / 1000, $sorted[ int(0.9 * $#sorted) ] / 1000 ];
}
my $bytes = length $shard->safe_psql('postgres', "SELECT service_items.bulk_load_associations($latency_clinic)");
diag(sprintf('load latency, clinic of 50 items x 3 practitioners (%d bytes of JSON), %d calls each, one client:',
		$bytes, $rounds * $per_round));
diag(sprintf('  direct to its shard: median %.3f ms (p90 %.3f ms)', @{ $ms{direct} }));
diag(sprintf('  through the proxy:   median %.3f ms (p90 %.3f ms); the proxy adds %.3f ms',
		@{ $ms{proxy} }, $ms{proxy}[0] - $ms{direct}[0]));
diag("  (pgbench -n -c 1 -t $per_round -l -f load.sql, $rounds alternating rounds per side;"
	  . " load.sql: SELECT service_items.bulk_load_associations($latency_clinic);)");

# Adding shards: double the partition count.  Step 1, the new partitions
# point at the old databases (p4 = p0's, ...): PL/Proxy routes hash & 7, and
# a clinic of partition i (hash & 3 = i) now goes to i or i + 4, the same
# database.  Nothing moves; every load is as before.
my $loads_sql = "SELECT c, service_items.bulk_load_associations(c) FROM generate_series(1, $n_clinics) c";
my $loads_before = rows($proxy, $loads_sql);
my $add = join(', ', map {
	sprintf("ADD p%d 'host=%s port=%d dbname=postgres'", $_ + $n_shards, $shards[$_]->host, $shards[$_]->port) }
	0 .. $n_shards - 1);
$proxy->safe_psql('postgres', "ALTER SERVER service_items_cluster OPTIONS ($add)");
is_deeply(rows($proxy, $loads_sql), $loads_before, '8 partitions over the 4 shards: every clinic loads as before');

# Step 2, split shard 0: a copy of it (here a cold file copy; in production
# a streaming replica promoted during a short write pause) becomes shard 4,
# identity sequences there move to a range of their own, p4 points at it,
# and each of the two deletes the clinics that now belong to the other.
my @to_new = grep { $owner{$_} == 0 }
  split / /, $proxy->safe_psql('postgres',
	"SELECT string_agg(c::text, ' ') FROM generate_series(1, $n_clinics) c WHERE service_items_proxy.clinic_partition(c, 8) = 4");
my %moving = map { $_ => 1 } @to_new;
my @stay = grep { !$moving{$_} } @{ $on_shard[0] };
cmp_ok(scalar @to_new, '>', 0, "clinics @to_new of shard 0 go to partition 4");
$shards[0]->stop;
# While shard 0 is down, only its clinics fail, with 08006 (PL/Proxy's
# XX000 made a connection failure: retry later, HTTP 503 under PostgREST).
my $down = sql_error($proxy, 'postgres', "SELECT service_items.bulk_load_associations($on_shard[0][0])");
is($down && $down->{sqlstate}, '08006', "shard 0 down: a load of its clinic $on_shard[0][0] fails with 08006")
  or diag(explain $down);
note("shard 0 down: $down->{sqlstate}: $down->{message}") if $down;
is(rows($proxy, "SELECT $on_shard[1][0], service_items.bulk_load_associations($on_shard[1][0])")->{ $on_shard[1][0] },
	$loads_before->{ $on_shard[1][0] }, 'the clinics of the other shards still load');
$shards[0]->backup_fs_cold('split');
my $shard4 = PostgreSQL::Test::Cluster->new('shard4');
$shard4->init_from_backup($shards[0], 'split');
$shards[0]->start;
$shard4->start;
$shard4->safe_psql('postgres', q{
	DO $$
	DECLARE s regclass;
	BEGIN
	    FOR s IN SELECT c.oid FROM pg_class c
	              WHERE c.relnamespace = 'service_items'::regnamespace AND c.relkind = 'S'
	                AND c.relname <> 'clinics_id_seq'
	    LOOP
	        EXECUTE format('ALTER SEQUENCE %s RESTART WITH %s', s, 4000000001);
	    END LOOP;
	END $$;});
$proxy->safe_psql('postgres', sprintf("ALTER SERVER service_items_cluster OPTIONS (SET p4 'host=%s port=%d dbname=postgres')",
		$shard4->host, $shard4->port));
$shards[0]->safe_psql('postgres', 'DELETE FROM service_items.clinics WHERE id IN (' . join(',', @to_new) . ')');
$shard4->safe_psql('postgres', 'DELETE FROM service_items.clinics WHERE id IN (' . join(',', @stay) . ')')
  if @stay;
is($shard4->safe_psql('postgres', "SELECT string_agg(id::text, ' ' ORDER BY id) FROM service_items.clinics"),
	join(' ', sort { $a <=> $b } @to_new), 'shard 4 holds the clinics of partition 4');
is($shards[0]->safe_psql('postgres', "SELECT string_agg(id::text, ' ' ORDER BY id) FROM service_items.clinics"),
	join(' ', sort { $a <=> $b } @stay), 'shard 0 keeps those of partition 0');
is_deeply(rows($proxy, $loads_sql), $loads_before, 'after the split every clinic still loads as before');

my ($moved) = grep { clinic_size($_) > 0 } @to_new;
my $moved_before = $shards[0]->safe_psql('postgres', $checksums_sql);
$payload = $shard4->safe_psql('postgres', qq{
	SELECT jsonb_build_object('follow_up_messages', jsonb_build_object(id::text, jsonb_build_array(
	           jsonb_build_object('timing_mode', 'hours_after', 'hours_after', 1,
	                              'message_template', 'On the new shard', 'display_order', 9))))
	  FROM service_items.appointment_types WHERE clinic_id = $moved AND NOT is_deleted ORDER BY id LIMIT 1});
$out = $proxy->safe_psql('postgres', "SELECT service_items.bulk_save_associations($moved, '$payload'::jsonb)");
like($out, qr/"id":4000000\d{3},"timing_mode":"hours_after","hours_after":1,"days_after":null,"time_of_day":null,"message_template":"On the new shard"/,
	"a save of clinic $moved goes to shard 4 and gets an id from its range");
is($shards[0]->safe_psql('postgres', $checksums_sql), $moved_before, 'shard 0 is untouched');

$shard4->stop;
$proxy->stop;
$_->stop for @shards;
done_testing();
