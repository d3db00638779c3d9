"""Machine-checkable conditions (``when``) against the facts of real-looking questions."""
import pytest

from kb.conditions import agreement, contradicts, deciding_needs, known_facts, parse_when, presumed_facts
from kb.facts import detect_facts


@pytest.mark.parametrize("question,expected", [
    ("two Hyper-V 2019 hosts in a cluster, one with Xeon E5 v4 and one with Xeon Gold", {"cpu_vendor": "same"}),
    ("moving VMs from our Intel hosts to new AMD EPYC servers", {"cpu_vendor": "mixed"}),
    ("can we live migrate to the new hosts?", {}),                       # vendors not given: open
    ("standalone host, not clustered", {"cluster": "no"}),
    ("Ubuntu 22.04 generation 2 VM", {"guest": "linux", "generation": "2"}),
    ("Windows Server 2016 host: will the AVMA keys activate my Windows 10 VM?",
     {"guest": "windows", "guest_edition": "client"}),
    ("Hyper-V on Windows 11 Pro, a Windows Server 2022 VM will not activate", {"guest_edition": "server"}),
    ("I tried to boot an ISO on a gen2 VM but it does not boot", {"boot_media": "iso"}),
    ("Windows Server 2022 installation media will not boot", {"boot_media": "iso"}),
    ("copied the VHDX of my Ubuntu template to a new VM and it will not boot", {"boot_media": "disk"}),
    ("converted the vmdk to vhdx with qemu-img, no operating system was loaded", {"boot_media": "disk"}),
    ("Docker Desktop is installed on a Windows 10 VM and will not start", {"host": "vm"}),
    ("Hyper-V is enabled in the VM but Docker still fails", {"host": "vm"}),
    ("nested virtualization for a WSL2 VM", {"host": "vm"}),
    ("Are you running inside a virtualized Windows e.g. on a cloud server or a VM: Yes", {"host": "vm"}),
    ("Error 0x80370102 when running WSL2 in a Win10 VirtualBox VM (macOS Host)", {"host": "vm", "outer": "other"}),
    ("nested hyper-v inside virtualbox does not work", {"host": "vm", "outer": "other"}),
    ("Docker Desktop in a Windows 10 VM on VMware ESXi 6.5", {"host": "vm", "outer": "other"}),
])
def test_known_facts(question, expected):
    known = known_facts(detect_facts(question))
    for key, value in expected.items():
        assert known.get(key) == value, known
    if not expected:
        assert "cpu_vendor" not in known


@pytest.mark.parametrize("question,presumed", [
    ("Where are the Windows Server, version 1903 AVMA keys?", True),
    ("AVMA keys for Server 2025 (Preview)", True),
    ("will the AVMA keys activate our Windows 10 VMs?", False),   # a desktop Windows named
    ("will the AVMA keys activate our Win10 VMs?", False),        # ...in any spelling
    ("can AVMA activate my Ubuntu VMs?", False),
    ("Where are the Windows Server 2022 KMS keys?", False),       # not AVMA
])
def test_an_avma_paste_presumes_a_windows_server_guest_for_asking_only(question, presumed):
    """An AVMA key exists only for a Windows Server guest, so a paste about AVMA is not asked which OS
    runs in the VM; the presumption is not a fact the paste states, so it does not count as evidence for
    the AVMA answer (the known facts, which the ranker reads, stay open)."""
    facts = detect_facts(question)
    assert (presumed_facts(facts) == {"guest": "windows", "guest_edition": "server"}) is presumed
    if presumed:
        assert "guest_edition" not in known_facts(facts)
        assert deciding_needs([{"guest_edition": "server"}, {"guest_edition": "client"}],
                              {**presumed_facts(facts), **known_facts(facts)}) == []


def test_an_intel_only_question_contradicts_the_intel_to_amd_answer():
    known = known_facts(detect_facts("two 2019 hosts, one Xeon E5-2690 v4 and one Xeon Gold 6248, "
                                     "live migration says the processor is not compatible"))
    assert contradicts({"cpu_vendor": "mixed"}, known)
    assert not contradicts({"cpu_vendor": "same"}, known)
    assert agreement({"cpu_vendor": "same"}, known) == 1
    assert not contradicts({}, known)


@pytest.mark.parametrize("question", [
    "integration services are running in the VM but the IP is not shown",   # a Hyper-V guest, not nested
    "Start VM, start WSL - network works in VM, not in WSL",
    "Docker Desktop on my Windows 11 laptop fails to start the VM",
    "two-node S2D cluster with nested resiliency",
    "I enabled Hyper-V on the host and the guest VM will not boot",
    "WSL 2 on Windows Server 2022 running on an EC2 i3.metal instance",      # a bare-metal instance
    "EC2 import_instance cannot import a VMware VM into EC2",                # no Windows running on it
])
def test_host_kind_is_vm_only_when_the_hypervisor_runs_inside_a_vm(question):
    assert "host" not in known_facts(detect_facts(question))


@pytest.mark.parametrize("question", [
    "Error 0x80370102 when running WSL2 in a Win10 VirtualBox VM (macOS Host)",
    "Docker Desktop inside a Hyper-V VM does not start",
    "Windows server 2019 enterprise Hyperv vm has docker installed and gets an error",
    "Windows Server 2022 with containers on **AWS EC2 i3 instance**, installed WSL with wsl --install",
])
def test_a_windows_that_is_itself_a_vm_is_told_in_more_ways(question):
    assert known_facts(detect_facts(question)).get("host") == "vm"


def test_docker_in_a_vm_does_not_get_the_firmware_answer(real_corpus):
    """The hypervisor-did-not-load answer (BIOS, bcdedit) is for a physical PC; inside a VM the fix is
    nested virtualization (a real Docker issue got the firmware answer at 0.60)."""
    known = known_facts(detect_facts("Docker Desktop is installed on Windows VM. Failed to start the virtual "
                                     "machine 'DockerDesktopVM' because one of the Hyper-V components is not running."))
    firmware = real_corpus.snippets["vm-start-failures-hyper-v-components-not-running"].when_map
    nested = real_corpus.snippets["client-hyper-v-nested"].when_map
    assert contradicts(firmware, known) and not contradicts(nested, known)
    assert agreement(nested, known) == 1


@pytest.mark.parametrize("question", [
    "booted the ISO in rescue mode to repair the copied VHDX",    # both named: neither is settled
    "my generation 2 VM will not boot",                           # neither named
])
def test_boot_media_stays_open_unless_one_medium_is_named(question):
    assert "boot_media" not in known_facts(detect_facts(question))


def test_an_iso_boot_question_never_gets_the_copied_disk_answer(real_index):
    """The copied-VHDX answer (the UEFI boot entry stayed in the old VM) holds only for a disk that
    already has an OS; installing from an ISO gets the ISO boot checklist instead."""
    from kb.answer import answer_question

    corpus = real_index.corpus
    assert corpus.snippets["linux-guests-gen2-copied-vhdx-no-boot"].when_map["boot_media"] == "disk"
    assert corpus.snippets["vm-generations-iso-boot-no-os"].when_map["boot_media"] == "iso"
    # Without boot_media on both snippets, this one got the copied-disk answer at 0.83.
    d = answer_question(real_index, "gen 2 linux vm, the ubuntu iso will not boot in the new vm, EFI BOOTX64.EFI not found")
    ids = [s.id for s in d.sources]
    assert "linux-guests-gen2-copied-vhdx-no-boot" not in ids
    # The ISO checklist, or the Linux Secure Boot template answer (when: guest linux, generation 2), the
    # usual reason an Ubuntu ISO does not boot in a generation 2 VM; both are about booting media.
    assert ids and ids[0] in ("vm-generations-iso-boot-no-os", "linux-guests-secure-boot"), ids


def test_only_facts_that_change_the_answer_are_asked_for():
    assert deciding_needs([{"cpu_vendor": "mixed"}, {"cpu_vendor": "same"}, {}], {}) == ["cpu_vendor"]
    assert deciding_needs([{"cpu_vendor": "same"}, {}], {}) == []        # no candidate disagrees
    assert deciding_needs([{"cluster": "yes"}, {"cluster": "no"}], {"cluster": "no"}) == []


@pytest.mark.parametrize("raw,expected", [
    ({"cluster": True}, {"cluster": "yes"}), ({"cluster": "no"}, {"cluster": "no"}),
    ({"generation": 2}, {"generation": "2"}), ({"guest": "Linux"}, {"guest": "linux"}),
    ({"boot_media": "ISO"}, {"boot_media": "iso"}),
])
def test_parse_when_normalises_yaml_values(raw, expected):
    assert parse_when(raw) == (expected, [])


def test_shipped_cpu_snippets_carry_their_vendor_condition(real_corpus):
    assert real_corpus.snippets["cpu-compatibility-intel-amd"].when_map == {"cpu_vendor": "mixed"}
    assert real_corpus.snippets["cpu-compatibility-migration-error"].when_map == {"cpu_vendor": "same"}


def test_cluster_and_linux_snippets_carry_their_condition(real_corpus):
    """Every quorum, CSV and cluster-resiliency snippet holds only in a cluster, and every Linux-guest
    snippet only for Linux guests: a standalone-host question never gets a quorum answer."""
    for s in real_corpus.snippets.values():
        if s.topic in ("quorum", "cluster-shared-volumes", "cluster-resiliency"):
            assert s.when_map.get("cluster") == "yes", s.id
        if s.topic == "linux-guests":
            assert s.when_map.get("guest") == "linux", s.id


def test_a_standalone_host_never_gets_a_cluster_only_answer(real_index):
    from kb.answer import answer_question

    d = answer_question(real_index, "Single host, not clustered, Windows Server 2022: what happens to my VMs "
                                    "when the witness share goes offline?")
    topics = {real_index.corpus.snippets[s.id].topic for s in d.sources if s.id in real_index.corpus.snippets}
    assert not topics & {"quorum", "cluster-shared-volumes", "cluster-resiliency"}, topics


@pytest.mark.parametrize("question", [
    "Nested virtualization: Hyper-V inside a Windows Server 2022 VM on our Hyper-V host",
    "Running Proxmox on Hyper-V inside Windows 11, nested virtualization is on",
    "I run Ubuntu in QEMU with KVM inside a nested Hyper-V VM",
])
def test_the_outer_hypervisor_stays_open_unless_another_is_named(question):
    assert "outer" not in known_facts(detect_facts(question))
