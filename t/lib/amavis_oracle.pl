#!/usr/bin/perl
# amavis_oracle.pl gen N SEED  - print N random cases (see test_spam.c oracle mode)
# amavis_oracle.pl run         - answer them on stdin with amavisd-new's own code:
#                                Amavis::Out::EditHeader::hdr for X-Spam-Status
#                                and 0+sprintf("%.3f") for numbers.
# SPDX-License-Identifier: GPL-2.0-or-later
use strict;
use warnings;

my $mode = shift // die "usage: amavis_oracle.pl gen N SEED | run\n";
if ($mode eq 'gen') {
	my ($n, $seed) = @ARGV;
	srand($seed);
	my @chars = ('A' .. 'Z', '_', '0' .. '9');
	for my $i (1 .. $n) {
		my $x = (rand() - 0.3) * 10 ** int(rand(5));
		print "N\t", sprintf("%.17g", $x), "\n";
		my @tests;
		for (1 .. int(rand(25))) {
			my $len = rand() < 0.05 ? 60 + int(rand(40)) : 2 + int(rand(24));
			my $name = join('', map { $chars[int(rand(@chars))] } 1 .. $len);
			push @tests, $name . '=' . (0 + sprintf("%.3f", (rand() - 0.3) * 5));
		}
		push @tests, '' if rand() < 0.1;
		my $t = join(",\\n ", @tests);
		my $body = sprintf("%s,\\n score=%s\\n %s%s%stests=[%s]\\n autolearn=%s",
			rand() < 0.5 ? 'Yes' : 'No', 0 + sprintf("%.3f", $x),
			rand() < 0.7 ? 'tagged_above=' . (rand() < 0.5 ? 2 : -999) . '\n ' : '',
			rand() < 0.8 ? 'required=6.31\n ' : '',
			rand() < 0.1 ? 'BLACKLISTED\n ' : rand() < 0.1 ? 'WHITELISTED\n ' : '',
			$t, rand() < 0.5 ? 'unavailable' : 'ham autolearn_force=no');
		print "F\t$body\n";
	}
	exit 0;
}
require Amavis::Out::EditHeader;
while (my $line = <STDIN>) {
	chomp $line;
	my ($k, $v) = split(/\t/, $line, 2);
	if ($k eq 'N') {
		print 0 + sprintf("%.3f", $v), "\n";
		next;
	}
	$v =~ s/\\n/\n/g;
	my $h = Amavis::Out::EditHeader::hdr('X-Spam-Status', $v, 1);
	$h =~ /^([^:]*?)[ \t]*:[ \t]*(.*?)$/s;
	my $body = $2;
	$body =~ s/\n/\\n/g;
	print "$body\n";
}
