#!/usr/bin/perl
# uri-oracle.pl - SpamAssassin's own URI handling, for t/unit/test_sa_uri.
#   perl t/sa/uri-oracle.pl canon FILE   one URI a line -> "uri<TAB>variants" (sorted, \x01-joined)
#   perl t/sa/uri-oracle.pl find FILE    the file is a text/plain body -> the URIs SA parses
#                                        from it (sorted, one a line), with SA's TLD list
# Bytes outside 0x20-0x7e are printed as \xNN.
use strict;
use warnings;
use File::Copy;
use File::Temp qw(tempdir);
use Mail::SpamAssassin;
use Mail::SpamAssassin::PerMsgStatus;
use Mail::SpamAssassin::Util;

sub esc { my ($s) = @_; $s =~ s/([^\x20-\x7e])/sprintf("\\x%02x", ord($1))/ge; return $s; }

my ($mode, $file) = @ARGV;
open(my $fh, '<:raw', $file) or die "$file: $!\n";
my $text = do { local $/; <$fh> };
close $fh;
if ($mode eq 'canon') {
	for my $u (split /\n/, $text) {
		next if $u eq '';
		my @v = sort(Mail::SpamAssassin::Util::uri_list_canonicalize([], $u));
		print esc($u), "\t", esc(join("\x01", @v)), "\n";
	}
	exit 0;
}
my $rules = tempdir(CLEANUP => 1);
copy('/usr/share/spamassassin/20_aux_tlds.cf', "$rules/20_aux_tlds.cf") or die "tlds: $!\n";
my $sa = Mail::SpamAssassin->new({
	rules_filename => $rules, site_rules_filename => $rules,
	userprefs_filename => "$rules/user_prefs", dont_copy_prefs => 1,
	local_tests_only => 1, home_dir_for_helpers => $rules,
});
$sa->init(0);
my $msg = $sa->parse("Subject: t\nContent-Type: text/plain; charset=us-ascii\n\n$text");
my $pms = Mail::SpamAssassin::PerMsgStatus->new($sa, $msg);
$pms->{main}->{conf}->{parse_dkim_uris} = 0;
my $d = $pms->get_uri_detail_list();
print esc($_), "\n" for sort grep { $d->{$_}->{types}->{parsed} } keys %$d;
$pms->finish();
$msg->finish();
