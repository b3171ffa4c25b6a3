#!/usr/bin/env perl
# bench/text/evasions.pl: turns the plain phrases of `ward rules export-grep` (one extended
# regular expression a line, \bword word\b) into expressions that also catch the evasions
# ward's normaliser undoes, so that grep can be timed doing comparable work: leetspeak digits
# and symbols for letters, stretched letters (sooo), a separator between the letters of a word
# (s.e.c.r.e.t, s e c r e t), and any run of separators between words.  Case is left to
# grep -i.  Lookalike letters of other scripts and zero-width characters are not covered:
# grep -E has no way to fold them.
use strict;
use warnings;

my %leet = (
	a => '4@', b => '8', e => '3', g => '69', i => '1!|', l => '1|',
	o => '0', s => '5$', t => '7+', z => '2',
);

while (my $line = <STDIN>) {
	chomp $line;
	my $body = $line;
	$body =~ s/^\\b//;
	$body =~ s/\\b$//;
	# only plain phrases: letters, digits, spaces and apostrophes
	next if $body =~ /[^a-z0-9 ']/;
	my @words;
	for my $w (split / +/, $body) {
		my @cls;
		my $last = '';
		for my $c (split //, $w) {
			# a doubled letter is one class with + (ward squeezes repeats too)
			next if $c eq "'" || $c eq $last;
			$last = $c;
			# in a bracket expression these symbols stand for themselves
			push @cls, '[' . $c . ($leet{$c} // '') . ']+';
		}
		push @words, join('[^[:alnum:]]?', @cls) if @cls;
	}
	print '\b', join('[^[:alnum:]]+', @words), "\\b\n" if @words;
}
