# t/001_replica.pl: loads on a streaming standby equal the primary's, and a
# save on the standby fails with 25006 and changes nothing.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SiCommon;
use Test::More;

my $primary = si_node('primary', allows_streaming => 1);

# Clinics of several sizes, one of them empty.
my @clinics;
push @clinics, $primary->safe_psql('postgres', "SELECT service_items_demo.create_clinic($_)")
  for (0, 1, 12, 40);

# The standby: pg_basebackup -R (standby.signal + primary_conninfo).
$primary->backup('base', backup_options => [ '-R', '-d', 'application_name=standby' ]);
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base');
$standby->start;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby is in recovery');

# After the base backup: one more clinic and saves on the primary, which
# reach the standby only by streaming.
push @clinics, $primary->safe_psql('postgres', 'SELECT service_items_demo.create_clinic(25, 2)');

# save_payload($clinic): a payload that changes the first two items of a
# clinic in every section (assignments, billing, resources, follow-ups).
sub save_payload
{
	my ($c) = @_;
	return $primary->safe_psql('postgres', qq{
		WITH items AS (
		    SELECT id FROM service_items.appointment_types
		     WHERE clinic_id = $c AND NOT is_deleted ORDER BY id LIMIT 2),
		p AS (
		    SELECT user_id FROM service_items.clinic_members
		     WHERE clinic_id = $c AND is_active AND 'practitioner' = ANY (roles)
		     ORDER BY user_id LIMIT 2),
		rt AS (SELECT min(id) AS id FROM service_items.resource_types WHERE clinic_id = $c)
		SELECT jsonb_build_object(
		    'practitioner_assignments',
		        (SELECT jsonb_object_agg(i.id::text, (SELECT jsonb_agg(user_id) FROM p)) FROM items i),
		    'billing_scenarios',
		        (SELECT jsonb_object_agg(i.id || '-' || p.user_id,
		                    jsonb_build_array(jsonb_build_object(
		                        'name', 'Replica rate ' || i.id, 'amount', 1234.5,
		                        'revenue_share', 100, 'is_default', true)))
		           FROM items i, p),
		    'resource_requirements',
		        (SELECT jsonb_object_agg(i.id::text, jsonb_build_array(
		                    jsonb_build_object('resource_type_id', rt.id, 'quantity', 9)))
		           FROM items i, rt),
		    'follow_up_messages',
		        (SELECT jsonb_object_agg(i.id::text, jsonb_build_array(
		                    jsonb_build_object('timing_mode', 'specific_time', 'days_after', 3,
		                        'time_of_day', '07:45', 'message_template', 'See you soon',
		                        'is_enabled', true, 'display_order', 1)))
		           FROM items i))::text});
}

for my $c (@clinics[ 2 .. 4 ])
{
	my $payload = save_payload($c);
	$primary->safe_psql('postgres',
		"SELECT service_items.bulk_save_associations($c, '$payload'::jsonb)");
}
# A save in a transaction that rolls back must not show up either.
{
	my $c = $clinics[3];
	my $payload = save_payload($c);
	$payload =~ s/See you soon/Rolled back/g;
	$primary->safe_psql('postgres',
		"BEGIN; SELECT service_items.bulk_save_associations($c, '$payload'::jsonb); ROLLBACK;");
}

$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

# Every clinic: the same document on both nodes, for several argument sets.
my @calls = (
	'%1$d',
	'%1$d, NULL, false, false, false',
	'%1$d, NULL, true, false, true',
	'%1$d, ARRAY(SELECT id FROM service_items.appointment_types WHERE clinic_id = %1$d ORDER BY id DESC LIMIT 3)',
);
for my $c (@clinics)
{
	for my $args (@calls)
	{
		my $a = sprintf($args, $c);
		my $sql = "SELECT service_items.bulk_load_associations($a)";
		my $p = $primary->safe_psql('postgres', $sql);
		my $s = $standby->safe_psql('postgres', $sql);
		like($p, qr/^\{"associations":\[/, "clinic $c ($a): primary returns a document");
		is($s, $p, "clinic $c ($a): standby document equals the primary's");
	}
	my $rows = "SELECT service_item_id, associations FROM service_items.service_item_associations($c)";
	is($standby->safe_psql('postgres', $rows), $primary->safe_psql('postgres', $rows),
		"clinic $c: service_item_associations rows equal on the standby");
	is($standby->safe_psql('postgres', "SELECT service_items_demo.clinic_checksum($c)"),
		$primary->safe_psql('postgres', "SELECT service_items_demo.clinic_checksum($c)"),
		"clinic $c: every row (and xmin) equal on the standby");
}
like($standby->safe_psql('postgres', "SELECT service_items.bulk_load_associations($clinics[3])"),
	qr/See you soon/, 'the committed save is on the standby');
unlike($standby->safe_psql('postgres', "SELECT service_items.bulk_load_associations($clinics[3])"),
	qr/Rolled back/, 'the rolled-back save is not');

# Loads with claims, as a web role would call them, on the standby too.
$primary->safe_psql('postgres', q{
	CREATE ROLE web_reader NOLOGIN;
	GRANT USAGE ON SCHEMA service_items TO web_reader;
	GRANT SELECT ON ALL TABLES IN SCHEMA service_items TO web_reader;
	GRANT EXECUTE ON FUNCTION service_items.bulk_load_associations(bigint, bigint[], boolean, boolean, boolean) TO web_reader;
	GRANT EXECUTE ON FUNCTION service_items.authorized_clinic(boolean) TO web_reader;
});
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
for my $roles ('["admin"]', '["staff"]')
{
	my $c = $clinics[2];
	my $sql = "SET ROLE web_reader; SELECT set_config('request.jwt.claims', '{\"clinic_id\": $c, \"roles\": $roles}', false); "
	  . "SELECT service_items.bulk_load_associations($c)";
	my $p = $primary->safe_psql('postgres', $sql);
	is($standby->safe_psql('postgres', $sql), $p, "clinic $c as web role with roles $roles: standby equals primary");
}

# A save on the standby: 25006, nothing else, nothing written.
my $c = $clinics[2];
my $before_standby = $standby->safe_psql('postgres', "SELECT service_items_demo.clinic_checksum($c)");
my $before_primary = $primary->safe_psql('postgres', "SELECT service_items_demo.clinic_checksum($c)");
my $payload = save_payload($c);
$payload =~ s/See you soon/From the standby/g;
my $err = sql_error($standby, 'postgres',
	"SELECT service_items.bulk_save_associations($c, '$payload'::jsonb)");
is($err->{sqlstate}, '25006', 'save on the standby: SQLSTATE 25006 (read_only_sql_transaction)')
  or diag($err->{stderr});
is(() = $err->{stderr} =~ /ERROR:/g, 1, 'save on the standby: exactly one error');
note("standby error: $err->{message}");
# The same with an explicit transaction and expected_versions.
$err = sql_error($standby, 'postgres',
	"BEGIN; SELECT service_items.bulk_save_associations($c, '{\"expected_versions\": {\"1\": 1}}'::jsonb || '$payload'::jsonb); COMMIT;");
is($err->{sqlstate}, '25006', 'save with expected_versions in a transaction on the standby: 25006');

is($standby->safe_psql('postgres', "SELECT service_items_demo.clinic_checksum($c)"),
	$before_standby, 'nothing changed on the standby');
is($primary->safe_psql('postgres', "SELECT service_items_demo.clinic_checksum($c)"),
	$before_primary, 'nothing changed on the primary');

# Validation writes nothing: it runs on the standby and answers as the primary.
my $bad = q{'{"practitioner_assignments": {"x": []}, "bogus": 1}'::jsonb};
is($standby->safe_psql('postgres', "SELECT service_items.validate_associations($c, $bad)"),
	$primary->safe_psql('postgres', "SELECT service_items.validate_associations($c, $bad)"),
	'validate_associations on the standby equals the primary');
is($standby->safe_psql('postgres', "SELECT service_items.validate_associations($c, '$payload'::jsonb)->>'valid'"),
	'true', 'a valid payload validates on the standby');

# The standby still serves loads after the refused save, and still follows.
my $p2 = save_payload($clinics[4]);
$p2 =~ s/See you soon/Second round/g;
$primary->safe_psql('postgres', "SELECT service_items.bulk_save_associations($clinics[4], '$p2'::jsonb)");
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is($standby->safe_psql('postgres', "SELECT service_items.bulk_load_associations($clinics[4])"),
	$primary->safe_psql('postgres', "SELECT service_items.bulk_load_associations($clinics[4])"),
	'a later save on the primary replays on the standby too');

$standby->stop;
$primary->stop;
done_testing();
