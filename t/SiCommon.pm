# t/SiCommon.pm: helpers shared by the TAP tests of service_items.
#
# The tests run from a copy of the repository (tools/tap.sh); the demo-data
# generator and the proxy scripts are read relative to this file.
package SiCommon;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use File::Basename qw(dirname);
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(repo_file si_node si_install sql_error median);

# repo_file('tools/demo_data.sql'): absolute path of a file of the tree.
sub repo_file
{
	my ($rel) = @_;
	my $top = File::Spec->rel2abs(dirname(__FILE__) . '/..');
	my $path = "$top/$rel";
	die "missing $path" unless -f $path;
	return $path;
}

# si_install($node, $db): the extension and the demo-data generator.
sub si_install
{
	my ($node, $db) = @_;
	$db //= 'postgres';
	$node->safe_psql($db, 'CREATE EXTENSION service_items');
	my $demo = repo_file('tools/demo_data.sql');
	$node->command_ok(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db), '-f', $demo ],
		"demo-data generator loaded on " . $node->name . " ($db)");
	return;
}

# si_node($name, %init_params): a started cluster with the extension.
sub si_node
{
	my ($name, %params) = @_;
	my $conf = delete $params{conf};
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%params);
	# Keep the logs readable: the demo generator's statements are huge.
	$node->append_conf('postgresql.conf', "log_statement = none\n" . ($conf // ''));
	$node->start;
	si_install($node);
	return $node;
}

# sql_error($node, $db, $sql): run $sql (which must fail) through psql as a
# client sees it, and return {sqlstate, message, detail, hint} of the error
# (undef if it did not fail).  $setup runs first in the same session.
sub sql_error
{
	my ($node, $db, $sql, %opts) = @_;
	my ($stdout, $stderr);
	my $script = "\\set VERBOSITY verbose\n\\set SHOW_CONTEXT never\n"
	  . ($opts{setup} // '') . "\n" . $sql . "\n";
	my $ret = $node->psql(
		$db, $script,
		stdout => \$stdout,
		stderr => \$stderr,
		on_error_stop => 1,
		($opts{extra_params} ? (extra_params => $opts{extra_params}) : ()));
	return undef if $ret == 0;
	# ERROR:  PT409: message
	# DETAIL:  ...          (may span lines)
	# HINT:  ...
	# LOCATION:  ...
	my %e;
	my $field;
	for my $line (split /\n/, $stderr)
	{
		if ($line =~ /^(?:psql:[^:]*:\d+: )?ERROR:  ([0-9A-Z]{5}): (.*)$/)
		{
			%e = (sqlstate => $1, message => $2);
			$field = 'message';
		}
		elsif ($line =~ /^(DETAIL|HINT|LOCATION|CONTEXT|QUERY|STATEMENT):  ?(.*)$/ && $field)
		{
			$field = lc $1;
			$e{$field} = $2;
		}
		elsif ($field)
		{
			$e{$field} .= "\n$line";
		}
	}
	delete $e{location};
	die "no error in psql output: $stderr" unless $e{sqlstate};
	$e{stderr} = $stderr;
	return \%e;
}

# median(@numbers)
sub median
{
	my @s = sort { $a <=> $b } @_;
	return undef unless @s;
	my $n = @s;
	return $n % 2 ? $s[ ($n - 1) / 2 ] : ($s[ $n / 2 - 1 ] + $s[ $n / 2 ]) / 2;
}

1;
