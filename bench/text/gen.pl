#!/usr/bin/env perl
# gen.pl ORDINARY_DIR MB: writes MB megabytes of ordinary English text to standard output,
# built from the lines of the ordinary-text corpus with names, numbers and days varied, and an
# indicator phrase (clinical words, one of the nine areas) planted every 2,000 lines or so.
# Deterministic: a fixed linear congruential generator, not perl's rand().
use strict;
use warnings;

my ($dir, $mb) = @ARGV;
die "usage: gen.pl ORDINARY_DIR MB\n" unless defined $mb;
my @lines;
for my $f (sort glob("$dir/*.txt")) {
	open my $fh, '<', $f or die "$f: $!\n";
	while (<$fh>) { chomp; push @lines, $_ if length; }
}
die "no text in $dir\n" unless @lines;
my @names = qw(Amy Ben Chloe Dan Ella Finn Grace Harry Isla Jack Katie Leo Maya Noah Olivia Priya Ravi Sam Tom Zara Aisha Callum Erin Freya Jamal Kai Lily Niamh Oscar Ruby Theo Yusuf Mia Alfie Poppy Reggie);
my @days = qw(Monday Tuesday Wednesday Thursday Friday Saturday Sunday);
my @plant = (
	"don't tell your parents about us, ok",
	"send me a pic in bed, just for me",
	"I'll give you robux if you go on cam",
	"take your top off for me",
	"he said he'd share my pictures",
	"my stepdad takes photos of me in the bath",
	"men pay to watch me on cam",
	"selling pics of kids, dm for prices",
	"pay me or I'll send them to your friends",
	"best adult video sites",
	"k33p th1s b3tw33n us",
	"s.e.c.r.e.t chat on telegram where your parents can't see",
);
my $state = 1234567;
sub rnd { $state = ($state * 1103515245 + 12345) % 2147483648; return $state % $_[0]; }
my $want = $mb * 1024 * 1024;
my ($bytes, $n) = (0, 0);
my $buf = '';
while ($bytes < $want) {
	my $l = $lines[rnd(scalar @lines)];
	$l =~ s/\b(Amy|Ben|Chloe|Dan|Ella|Finn|Grace|Harry|Isla|Jack|Katie|Leo|Maya|Noah|Olivia)\b/$names[rnd(scalar @names)]/g;
	$l =~ s/\b(Monday|Tuesday|Wednesday|Thursday|Friday)\b/$days[rnd(7)]/g;
	$l =~ s/\b(\d+)\b/rnd(100)/ge;
	$l .= ' ' . $plant[rnd(scalar @plant)] if ++$n % 2000 == 0;
	$buf .= $l . "\n";
	if (length($buf) > 1 << 20) { print $buf; $bytes += length $buf; $buf = ''; }
}
print $buf;
