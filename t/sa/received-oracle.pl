#!/usr/bin/perl
# received-oracle.pl - the X-Spam-Relays-* strings SpamAssassin itself makes
# from a message's Received headers (no rules loaded, no network).
# Usage: perl t/sa/received-oracle.pl [-t "trusted nets"] [-i "internal nets"] FILE...
# One block per file: trusted=, untrusted=, internal=, external=, unparseable=.
use strict;
use warnings;
use File::Temp qw(tempdir);
use Getopt::Std;
use Mail::SpamAssassin;
use Mail::SpamAssassin::PerMsgStatus;

my %opt;
getopts('t:i:', \%opt);
my $empty = tempdir(CLEANUP => 1);
my $conf = '';
$conf .= "trusted_networks $opt{t}\n" if defined $opt{t} && $opt{t} ne '';
$conf .= "internal_networks $opt{i}\n" if defined $opt{i} && $opt{i} ne '';
my $sa = Mail::SpamAssassin->new({
	rules_filename => $empty, site_rules_filename => $empty,
	userprefs_filename => "$empty/user_prefs", dont_copy_prefs => 1,
	local_tests_only => 1, config_text => $conf, home_dir_for_helpers => $empty,
});
$sa->init(0);
$| = 1;
for my $file (@ARGV) {
	open(my $fh, '<:raw', $file) or die "$file: $!\n";
	my $text = do { local $/; <$fh> };
	close $fh;
	my $msg = $sa->parse($text);
	my $pms = Mail::SpamAssassin::PerMsgStatus->new($sa, $msg);
	$msg->extract_message_metadata($pms);
	my $md = $msg->{metadata};
	for my $k (qw(trusted untrusted internal external)) {
		my $v = $md->{"relays_${k}_str"};
		print "$k=", (defined $v ? $v : ''), "\n";
	}
	print "unparseable=", ($md->{num_relays_unparseable} || 0), "\n";
	$pms->finish();
	$msg->finish();
}
