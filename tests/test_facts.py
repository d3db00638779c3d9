import pytest

from kb.facts import clean_question, detect_facts
from kb.versions import expand_applies_to, find_versions, normalize_version


@pytest.mark.parametrize("text,expected", [
    ("our hosts run 2k8r2", ["Windows Server 2008 R2"]),
    ("W2K12 R2 cluster", ["Windows Server 2012 R2"]),
    ("windows server 2012r2", ["Windows Server 2012 R2"]),
    ("Server 2019 standard", ["Windows Server 2019"]),
    ("ws2016 datacenter", ["Windows Server 2016"]),
    ("Hyper-V Server 2019 (the free one)", ["Hyper-V Server 2019"]),
    ("2022 hosts", ["Windows Server 2022"]),
    ("Windows Server 2025", ["Windows Server 2025"]),
    ("win server 2008", ["Windows Server 2008"]),
    ("2k16 and 2k19 nodes", ["Windows Server 2016", "Windows Server 2019"]),
    ("I bought it in 2019", []),
    ("port 2016 is open", []),
    ("on my windows 10 laptop", ["Windows 10"]),
    ("Can we upgrade from 2012r2 to 2022 without intermediate steps?", ["Windows Server 2012 R2", "Windows Server 2022"]),
    ("Host OS: Hyper-V server (headless) 10.0.17763 N/A Build 17763", ["Windows Server 2019"]),
    ("Windows 10 build 17763", ["Windows 10"]),       # the client shares the server's build number
    ("Host OS: 19041\nGuest OS: 17763", ["Windows 10"]),   # a client build where no server is named
    ("Microsoft Windows [Version 10.0.22631.2861]", ["Windows 11"]),
    ("Guest OS: 19041", []),                           # a guest's build says nothing of the host
    ("Windows Version: 10.0.17763", []),               # Windows 10 1809 or Windows Server 2019
    ("Build 20348 on our server", ["Windows Server 2022"]),
    ("ticket 19041 was closed", []),
    ("In 2019 we bought two servers", []),
    ("I am running w10 on host and vm", ["Windows 10"]),   # forum shorthand for the client
    ("W11 Pro laptop", ["Windows 11"]),
    ("we need w 10 more disks", []),
])
def test_versions_are_found_in_many_spellings(text, expected):
    assert find_versions(text) == expected


def test_version_helpers():
    assert normalize_version("2012 R2") == "Windows Server 2012 R2"
    assert normalize_version("nonsense") is None
    assert expand_applies_to(["Windows Server 2022+"]) == ["Windows Server 2022", "Windows Server 2025"]
    with pytest.raises(ValueError):
        expand_applies_to(["Windows Server 2013"])


def test_facts_of_a_realistic_question():
    f = detect_facts("3 node 2012 R2 cluster, Xeon E5-2650 v2 hosts plus one AMD EPYC box. CSV on iSCSI. "
                     "LM fails with 0x8009030E and event id 21502. Guest is Ubuntu 22.04 gen 2, backed up with Veeam "
                     "and DPM. Managed by SCVMM.")
    assert f.os_version == "Windows Server 2012 R2"
    assert f.cluster is True and f.host_count == 3
    assert f.cpu_vendors == ["Intel", "AMD"] and f.cpu_models[0].startswith("Xeon E5-2650")
    assert f.error_codes == ["0x8009030e"] and f.event_ids == ["21502"]
    assert "ubuntu" in [g.lower() for g in f.guest_os]
    assert f.vm_generation == 2 and f.scvmm is True
    assert f.backup_products == ["DPM", "Veeam"]
    assert set(f.storage) >= {"CSV", "iSCSI"}


@pytest.mark.parametrize("text,cluster", [("two standalone hosts", False), ("our failover cluster", True),
                                          ("a single host", False), ("my laptop", None)])
def test_cluster_detection(text, cluster):
    assert detect_facts(text).cluster is cluster


def test_other_hypervisors_are_noticed():
    f = detect_facts("vMotion between ESXi hosts fails with EVC")
    assert f.other_hypervisors == ["VMware"] and not f.mentions_hyperv
    f = detect_facts("what is the Hyper-V equivalent of VMware EVC?")
    assert f.other_hypervisors == ["VMware"] and f.mentions_hyperv
    # Xen's own tools name the product when the paste does not ("xenial" is an Ubuntu release, not Xen).
    f = detect_facts('VM fails to boot: INTERNAL_ERROR(xenopsd internal error: "Error from xenguesthelper")')
    assert f.other_hypervisors == ["Xen"]
    assert detect_facts("Ubuntu xenial guest has no network").other_hypervisors == []


@pytest.mark.parametrize("paste", [
    "VMware Workstation 15 VMs no longer start since I installed WSL2 on Windows 10 Pro",
    "VirtualBox is very slow after I turned on Memory integrity (core isolation)",
    "VMware says Credential Guard is incompatible, how do I run both?",
    "How does the Sandbox work with VMware Workstation or Oracle VirtualBox?",
    "[VM Conversion] - Sync failed for a VMware VM with 8 thick disks",
    "What is the future of the VM Conversion extension now that VMware ended public VDDK downloads?"])
def test_another_hypervisor_beside_the_windows_hypervisor_is_a_hyper_v_question(paste):
    """WSL 2, virtualization-based security, the Windows Hypervisor Platform and Windows Sandbox run on
    Hyper-V's hypervisor, and Windows Admin Center's VM Conversion moves VMware VMs onto Hyper-V: a paste
    about VMware or VirtualBox beside one of them is not sent to that product's forum."""
    assert not detect_facts("Windows Admin Center: AKS on Kubernetes fails to deploy").mentions_hyperv
    f = detect_facts(paste)
    assert f.other_hypervisors and f.mentions_hyperv


def test_cleaning_a_realistic_paste():
    paste = """Hello everyone,

We run a 2 node Hyper-V 2016 cluster. Backups with Veeam fail:
Error: "Failed to create VM recovery checkpoint (0x80070490)"

> On Tue, Jan 3, Bob wrote:
> did you reboot?

Any ideas?

Thanks in advance,
Dave
Senior Sysadmin | Contoso
"""
    cleaned = clean_question(paste)
    assert cleaned.startswith("We run a 2 node Hyper-V 2016 cluster.")
    assert "0x80070490" in cleaned and "Failed to create VM recovery checkpoint" in cleaned
    assert "Bob" not in cleaned and "reboot" not in cleaned
    assert "Dave" not in cleaned and "Thanks" not in cleaned and "Hello" not in cleaned


def test_a_markdown_blockquote_is_what_the_asker_shows_and_stays():
    # A GitHub or forum paste quotes the tool's output with ">": that is the error, not an old reply.
    paste = ("Import fails with vagrant:\n\n> Error Code: 32784\n> Cause: VM version is unsupported\n\n"
             "Is any way to deal with that?")
    cleaned = clean_question(paste)
    assert "Error Code: 32784" in cleaned and "VM version is unsupported" in cleaned
    assert detect_facts(cleaned).has("error_code")
    from kb.focus import find_focus

    focus = find_focus(cleaned)
    assert not focus.wants_error_text(cleaned)
    assert "Error Code: 32784" in focus.errors   # its sentences lose the marker


def test_a_from_line_naming_a_web_page_is_not_a_mail_reply():
    paste = ("ReFS on CSV\nFrom: https://www.itprotoday.com/ntfs-or-refs-cluster-shared-volumes\n"
             "\"ReFS CSVs always run in file system redirection mode\"\nDoes this still count?")
    cleaned = clean_question(paste)
    assert "always run in file system redirection mode" in cleaned and "Does this still count?" in cleaned


@pytest.mark.parametrize("paste", [
    "Backups fail.\n> On Tue, Jan 3, Bob wrote:\n> did you reboot?\nYes, twice.\n\nAny ideas?",
    "Backups fail.\nOn Tue, Jan 3, Bob wrote:\n> did you reboot?\n> Bob\n\nYes, twice. Any ideas?",
    "Backups fail.\n-----Original Message-----\nFrom: Bob\ndid you reboot?\n\nYes, twice. Any ideas?",
    "Backups fail.\nFrom: Bob <bob@contoso.com>\nSent: Monday\ndid you reboot?\n\nYes, twice. Any ideas?",
])
def test_a_quoted_reply_goes_and_what_follows_it_stays(paste):
    cleaned = clean_question(paste)
    assert "reboot" not in cleaned and "Bob" not in cleaned
    assert cleaned.startswith("Backups fail.") and "Yes, twice." in cleaned and "Any ideas?" in cleaned


def test_cleaning_html():
    cleaned = clean_question("<html><head><style>p{}</style></head><body><p>Hi,</p><p>My <b>VM</b> &amp; host</p>"
                             "<script>alert(1)</script><blockquote>old reply</blockquote></body></html>")
    assert cleaned == "My VM & host"


@pytest.mark.parametrize("text", [
    "gen1 vs gen2, whats the actual benefit?",
    "2016: regular nic team + vswitch, or that SET thing?",
    "avhdx files keep growing",
    "production checkpoint fails on the debian box",
    "validation report warns that update levels differ between nodes",   # two shared words together
    "pass-through disk still a thing in 2019?",
    "error binding the adapter to my external switch",
    "Failed to start the sandbox (0x80370106)",                          # the hypervisor's own error range
    "Windows Sandbox will not open on Windows 11",
])
def test_hyper_v_vocabulary_counts_as_a_virtualization_question(text):
    assert detect_facts(text).mentions_virtualization


@pytest.mark.parametrize("text", [
    "Excel pivot table does not refresh after the set of rows changes",
    "how do I set a static IP on Windows 11",
    "Exchange 2016 hybrid, mailbox migration batch stuck at Syncing",     # one shared word alone
    "nginx reverse proxy returns 502 to my node app",
])
def test_other_subjects_are_not_virtualization_questions(text):
    f = detect_facts(text)
    assert not f.mentions_hyperv and not f.mentions_virtualization


def test_kubernetes_is_named_as_another_platform():
    f = detect_facts("Kubernetes cluster node stuck NotReady after kubelet upgrade")
    assert f.other_hypervisors == ["Kubernetes"] and not f.mentions_hyperv


@pytest.mark.parametrize("text, quoted", [
    ("New-VMSwitch fails, the following error occurs:\n```\nAttaching a virtual switch to an LBFO team is deprecated\n```", True),
    ("Import fails with Microsoft.Virtualization.Client.Management.VirtualizationOperationFailedException", True),
    ("Error:\nThe virtual machine could not be started because the hypervisor is not running", True),
    ("Live migration failed with 0x8009030E", True),
    ("While start Docker Desktop I get error: Failed to start the virtual machine 'DockerDesktopVM'", True),
    ("Hyper-V is enabled in the VM. This is the error that I am getting\n_Unable to start: 'MobyLinuxVM' "
     "failed to start.", True),
    ("During the validation i receive the below error\nRequest processing failed due to reason: the namespace is "
     "invalid", True),
    ("I can connect to it. The error is:\nThere was an error listing VMs: Permission denied", True),
    ("Docker in a 2019 VM gets a error hcsshim::CreateComputeSystem: The virtual machine could not be started "
     "because a required feature is not installed.", True),
    ("I get an error when I start the VM since the update", False),
    ("The error was the same as yesterday and it still fails", False),
    ("Is there an error if I leave the host without a witness?", False),
    ("Which errors can a two node cluster hit when the witness is lost?", False),
])
def test_quoted_error_text_is_noticed(text, quoted):
    """A paste that already holds the error is never asked for "the exact error text"."""
    assert detect_facts(text).error_text is quoted


@pytest.mark.parametrize("text,guests", [
    ("Windows 10 host, copy and paste do not work in my RHEL 8 VM", ["RHEL"]),
    ("Windows 11 Pro with a Windows 10 guest", ["Windows 10"]),
    ("Windows Server 2016 host, how do I activate a Windows 10 VM", ["Windows 10"]),
    # Named alone, the system may be the guest's: it is kept.
    ("Windows 10 VM will not start", ["Windows 10"]),
])
def test_the_hosts_own_windows_is_not_a_guest(text, guests):
    assert detect_facts(text).guest_os == guests


@pytest.mark.parametrize("text,guest", [
    # Appliance and container-host images and less common distributions are Linux guests too, and the
    # Windows of the PC they run on is the host's.
    ("docker-machine on Windows 10: the RancherOS VM never gets an IP address", "linux"),
    ("Enhanced session does not work in my Arch Linux VM on Windows 11", "linux"),
    ("OpenWrt 23.05 on a generation 2 VM: shut down from Hyper-V Manager fails", "linux"),
    ("openSUSE Tumbleweed guest has no network", "linux"),
    # BSD firewall appliances and Microsoft's own CBL-Mariner are non-Windows guests by name alone.
    ("pfSense VM on Server 2019 sees no traffic on its WAN adapter", "linux"),
    ("Copy/paste does not work when accessing Mariner 2.0 via Virtual Machine Connection", "linux"),
    ("Windows Server 2022 host, Windows 11 guest will not activate", "windows"),
    ("Live migration between two hosts fails", None),
])
def test_linux_guests_are_told_by_their_distribution(text, guest):
    from kb.conditions import known_facts

    assert known_facts(detect_facts(text)).get("guest") == guest


@pytest.mark.parametrize("text,quoted", [
    ("Start-VM fails: System.InvalidOperationException was thrown", True),
    ("PermissionDenied: (:) [Start-VM], VirtualizationException", True),
    ("an Exception happened somewhere", False),
    ("q" * 5000 + "Exception", False),   # a name is a word of at most 100 letters before "Exception"
])
def test_exception_names_count_as_a_quoted_error(text, quoted):
    from kb.focus import quotes_error

    assert detect_facts(text).error_text is quoted
    assert quotes_error(text) is quoted


@pytest.mark.parametrize("text,failed", [
    # Windows PowerShell puts a space before the colon, PowerShell 7 does not: both show the cmdlet failing.
    ("Export-VM : Failed to copy file during export.", {"Export-VM": "Failed to copy file during export."}),
    ("PS C:\\> Export-VM -Name web01 -Path D:\\exp\nExport-VM: Failed to copy file during export.",
     {"Export-VM": "Failed to copy file during export."}),
    ("ConvertTo-Json: The converted JSON string is in bad format.",
     {"ConvertTo-Json": "The converted JSON string is in bad format."}),
    # A hyphenated word with a colon is no cmdlet, nor is a cmdlet named in a sentence.
    ("Follow-Up: the export still fails after the update", {}),
    ("I ran Export-VM: it failed to copy a file", {}),
])
def test_a_failing_cmdlet_is_read_as_either_powershell_prints_it(text, failed):
    from kb.focus import failed_commands, quotes_error

    assert failed_commands(text) == failed
    assert quotes_error(text) is bool(failed)


@pytest.mark.parametrize("text,guests", [
    # Which Windows is the guest: the one named as a VM's, whichever version the paste lists first.
    ("Hyper-V on Windows 11 Pro, a Windows Server 2022 VM will not activate", ["Windows Server 2022"]),
    ("Windows Server 2016 host: will the AVMA keys activate my Windows 10 VM?", ["Windows 10"]),
    ("Windows 10 host with an Ubuntu VM that has no network", ["Ubuntu"]),
    ("Windows Server 2022 host, Windows 11 guest will not activate", ["Windows 11"]),
])
def test_the_guest_is_the_system_named_as_a_vm(text, guests):
    assert detect_facts(text).guest_os == guests
