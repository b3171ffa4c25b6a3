#!/usr/bin/env perl
# slices.pl FILE FINDINGS.tsv EXPECTED.tsv SLICES MAP
# For each finding (line, start, end, areas) whose areas include the area expected for its line,
# writes the original bytes FILE[start, end) as one line of SLICES and the case's line number as
# the same line of MAP.  Byte offsets, so the file is read raw.
use strict;
use warnings;

my ($file, $tsv, $exp, $out, $map) = @ARGV;
die "usage: slices.pl FILE FINDINGS EXPECTED SLICES MAP\n" unless defined $map;
my $text = do { local $/; open my $f, '<:raw', $file or die "$file: $!\n"; <$f> };
my %area;
open my $e, '<', $exp or die "$exp: $!\n";
while (<$e>) {
	next if /^#/;
	chomp;
	my @c = split /\t/;
	$area{$c[0]} = $c[1];
}
open my $t, '<', $tsv or die "$tsv: $!\n";
open my $o, '>:raw', $out or die "$out: $!\n";
open my $m, '>', $map or die "$map: $!\n";
while (<$t>) {
	chomp;
	my ($line, $s, $en, $areas) = split /\t/;
	next unless exists $area{$line} && grep { $_ eq $area{$line} } split /,/, $areas;
	my $slice = substr($text, $s, $en - $s);
	$slice =~ s/\n/ /g;
	print $o $slice, "\n";
	print $m "$line\n";
}
