#!/usr/bin/perl
# html-oracle.pl - render an HTML file with SpamAssassin's own renderer
# (Mail::SpamAssassin::HTML, octets in) and print what t/unit/test_sa_html
# compares: the visible and invisible text and the facts HTMLEval reads.
# Usage: perl t/sa/html-oracle.pl FILE...   One block per file, "key=value"
# lines, values with \\, \n, \t and bytes outside 0x20-0x7e escaped.
use strict;
use warnings;
use Mail::SpamAssassin::HTML;

sub esc {
	my ($s) = @_;
	return '' unless defined $s;
	$s =~ s/\\/\\\\/g;
	$s =~ s/\n/\\n/g;
	$s =~ s/\t/\\t/g;
	$s =~ s/([^\x20-\x7e])/sprintf("\\x%02x", ord($1))/ge;
	return $s;
}

for my $file (@ARGV) {
	open(my $fh, '<:raw', $file) or die "$file: $!\n";
	my $text = do { local $/; <$fh> };
	close $fh;
	my $html = Mail::SpamAssassin::HTML->new(0, 1);
	$html->parse($text);
	my $r = $html->get_results();
	print "file=", esc($file), "\n";
	print "visible=", esc($html->get_rendered_text(invisible => 0)), "\n";
	print "invisible=", esc($html->get_rendered_text(invisible => 1)), "\n";
	for my $k (qw(length min_size max_size closed_extra_ratio bad_tag_ratio
		      non_element_ratio obfuscation_ratio backhair_count image_area
		      font_low_contrast font_invalid_color font_face_bad
		      form_action_mailto embeds uri_truncated)) {
		print "$k=", (defined $r->{$k} ? $r->{$k} : ''), "\n";
	}
	print "charsets=", esc($html->{charsets}), "\n";
	print "title=", esc(join("\x01", @{$r->{title} || []})), "\n";
	print "comment=", esc(join("\x01", @{$r->{comment} || []})), "\n";
	print "anchor=", esc(join("\x01", @{$r->{anchor} || []})), "\n";
	print "uri=", esc(join("\x01", sort grep { $_ ne "" } @{$r->{uri} || []})), "\n";
	print "inside=", join(",", map { "$_:$r->{inside}{$_}" } sort keys %{$r->{inside} || {}}), "\n";
	print "end\n";
}
