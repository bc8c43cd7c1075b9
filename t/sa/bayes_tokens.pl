#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-or-later
# t/sa/bayes_tokens.pl - SpamAssassin's own Bayes tokens of messages, the
# reference the native tokenizer is compared with (t/unit/test_sa_bayes.c,
# t/e2e/test_sa_bayes.sh).
#
#   bayes_tokens.pl FILE...            one line per token: hex id, tab, token
#   bayes_tokens.pl --combine NS NN P...  Combine::combine() of the probabilities
#   bayes_tokens.pl --prob NS NN S N   the probability of one token
#   bayes_tokens.pl --line REGION PREFIX TEXT  _tokenize_line's tokens, '|'-joined
#   bayes_tokens.pl --lines FILE | --prob-file FILE | --combine-file FILE
#                                      the same for many cases, one a line
#
# Network tests off, no user preferences; the rules of /usr/share/spamassassin.
use strict;
use warnings;
use Mail::SpamAssassin;
use Mail::SpamAssassin::Bayes::CombineChi;

if (@ARGV && $ARGV[0] eq '--combine') {
    shift;
    my ($ns, $nn, @p) = @ARGV;
    my $r = Mail::SpamAssassin::Bayes::Combine::combine($ns, $nn, \@p);
    printf "%.17g\n", defined $r ? $r : -1;
    exit 0;
}
if (@ARGV && $ARGV[0] eq '--combine-file') {
    # one case a line: NS NN P...
    open(my $fh, '<', $ARGV[1]) or die "$ARGV[1]: $!\n";
    while (my $l = <$fh>) {
        my ($ns, $nn, @p) = split ' ', $l;
        my $r = Mail::SpamAssassin::Bayes::Combine::combine($ns, $nn, \@p);
        printf "%.17g\n", defined $r ? $r : -1;
    }
    exit 0;
}
my $sa = Mail::SpamAssassin->new({
    local_tests_only => 1, dont_copy_prefs => 1, userprefs_filename => '/dev/null',
    post_config_text => "use_bayes 1\n",
});
$sa->init(1);
my $bayes;
foreach my $p (@{$sa->{plugins}->{plugins}}) {
    $bayes = $p if ref($p) eq 'Mail::SpamAssassin::Plugin::Bayes';
}
die "no Bayes plugin\n" unless $bayes;
if (@ARGV && $ARGV[0] eq '--line') {
    my (undef, $region, $prefix, $text) = @ARGV;
    print join('|', $bayes->_tokenize_line($text, $prefix, $region)), "\n";
    exit 0;
}
if (@ARGV && $ARGV[0] eq '--lines') {
    # one case a line: REGION TAB PREFIX TAB TEXT (\xNN escapes in TEXT)
    open(my $fh, '<', $ARGV[1]) or die "$ARGV[1]: $!\n";
    while (my $l = <$fh>) {
        chomp $l;
        my ($region, $prefix, $text) = split /\t/, $l, 3;
        $text =~ s/\\x([0-9a-f]{2})/chr(hex($1))/ge;
        print join('|', $bayes->_tokenize_line($text, $prefix, $region)), "\n";
    }
    exit 0;
}
if (@ARGV && $ARGV[0] eq '--prob-file') {
    # one case a line: NS NN S N
    open(my $fh, '<', $ARGV[1]) or die "$ARGV[1]: $!\n";
    while (my $l = <$fh>) {
        my ($ns, $nn, $s, $n) = split ' ', $l;
        my $r = $bayes->_compute_prob_for_token('x', $ns, $nn, $s, $n);
        printf "%.17g\n", defined $r ? $r : -1;
    }
    exit 0;
}
if (@ARGV && $ARGV[0] eq '--prob') {
    shift;
    my ($ns, $nn, $s, $n) = @ARGV;
    my $r = $bayes->_compute_prob_for_token('x', $ns, $nn, $s, $n);
    printf "%.17g\n", defined $r ? $r : -1;
    exit 0;
}
foreach my $f (@ARGV) {
    open(my $fh, '<', $f) or die "$f: $!\n";
    my @lines = <$fh>;
    close $fh;
    my $msg = $sa->parse(\@lines);
    my $data = $bayes->get_body_from_msg($msg);
    my $toks = $bayes->tokenize($msg, $data);
    foreach my $id (sort keys %$toks) {
        my $t = $toks->{$id};
        $t =~ s/([\x00-\x20\\\x7f-\xff])/sprintf("\\x%02x", ord($1))/ge;
        printf "%s\t%s\n", unpack('H*', $id), $t;
    }
    printf "#msgid\t%s\n", $msg->generate_msgid();
    $msg->finish();
}
