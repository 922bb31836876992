#!/usr/bin/perl -w
# Bulk-import mboxrd files into a configured public-inbox v2 inbox, in one
# process, through PublicInbox::V2Writable (which also indexes: over.sqlite3
# and, for -L full inboxes, Xapian).  About 100x faster than one
# public-inbox-mda per message, and it skips the MDA's To/Cc/Subject checks,
# so header-trimmed archive copies import too.
#
# usage: PI_CONFIG=/abs/config perl pi-import.pl INBOX_NAME FILE.mbox...
#        ("-" reads standard input)
# prints "imported N of M"; messages already present (same content) are
# skipped, so re-running an import is harmless.
use strict;
use PublicInbox::Config;
use PublicInbox::V2Writable;
use PublicInbox::MboxReader;

my $name = shift @ARGV or die "usage: $0 INBOX_NAME FILE.mbox...\n";
@ARGV or die "usage: $0 INBOX_NAME FILE.mbox...\n";
my $cfg = PublicInbox::Config->new;
my $ibx = $cfg->lookup_name($name) or die "$0: no inbox named $name in $ENV{PI_CONFIG}\n";
$ibx->version == 2 or die "$0: inbox $name is not a v2 inbox\n";

my $w = PublicInbox::V2Writable->new($ibx);
$w->{parallel} = 0;    # index in this process; no shard workers to reap
my ($seen, $added) = (0, 0);
for my $file (@ARGV) {
	my $fh;
	if ($file eq '-') {
		$fh = \*STDIN;
	} else {
		open($fh, '<', $file) or die "$0: open $file: $!\n";
	}
	PublicInbox::MboxReader->mboxrd($fh, sub {
		my ($eml) = @_;
		$seen++;
		$added++ if defined $w->add($eml);
	});
	close($fh) unless $file eq '-';
}
$w->done;
print "imported $added of $seen\n";
