// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {DatasetNFT} from "./DatasetNFT.sol";
import {DatasetLicence} from "./DatasetLicence.sol";
import {PullPayments} from "./PullPayments.sol";

/// @title JobEscrow
/// @notice Per-job escrow of a federated training job (docs/ECONOMICS.md §2). The buyer opens the job and locks its
/// exact price, `Σ_i rate_i × rows_i × R`, at the dataset rates in force at that moment; the terms (currency,
/// coordinator, SecAgg threshold t, rounds R, run deadline, windows, fee, and per dataset its payee, silo signer,
/// rate, rows and derivative policy) are pinned as one `termsHash`. There is no buyer cancel.
///
/// Money moves only on an EIP-712 `JobReceipt` the silos co-sign. Dataset i is paid `rate_i × rows_i × rounds_i`
/// (the rounds it contributed to, from the receipt) only with silo i's own signature, plus a confirmation of that
/// receipt: the coordinator's signature before `runDeadline + confirmWindow` (normal path), or, from then until
/// `settleEnd`, at least t silo signatures in one call (fallback, without the coordinator). The coordinator's key
/// alone confirms a receipt but pays nothing. Whatever is not paid by `settleEnd` is refunded to the buyer, once.
/// Settle (`now < settleEnd`) and refund (`now ≥ settleEnd`, or every dataset paid) are disjoint.
/// @dev Storage per job: 3 slots at open (terms hash; locked/paid; buyer/deadlines/size/flags), the paid bitmap at the
/// first payment, one slot per confirmed receipt digest, and the currency for ERC-20 jobs. Loops are bounded by the
/// job's dataset count (at most `MAX_DATASETS`); nothing is global or unbounded.
contract JobEscrow is EIP712, PullPayments {
    using SafeERC20 for IERC20;

    /// @notice The job terms besides the datasets, as the buyer's signed request states them.
    /// @param currency Zero address for ETH, else the ERC-20 every dataset of the job is priced in.
    /// @param coordinator The coordinator named in the request: its signature confirms receipts (normal path).
    /// @param threshold SecAgg threshold t: signatures the fallback path and model registration need (≥ 2).
    /// @param rounds Rounds R the buyer pays for at most.
    /// @param runDeadline When the run must be over (unix seconds).
    /// @param confirmWindow Seconds after `runDeadline` during which the coordinator can confirm.
    /// @param fallbackWindow Seconds after that during which t silos can confirm without it.
    /// @param feeBps Protocol fee on each payment; must equal this contract's `feeBps`.
    struct Header {
        address currency;
        address coordinator;
        uint16 threshold;
        uint32 rounds;
        uint40 runDeadline;
        uint32 confirmWindow;
        uint32 fallbackWindow;
        uint16 feeBps;
    }

    /// @notice A dataset's terms as pinned at open (from `DatasetNFT.jobTermsOf`).
    struct Pinned {
        uint256 datasetId;
        address payee;
        address signer;
        uint96 rate;
        uint64 rows;
        bool derivativesAllowed;
        uint32 derivativeShareMicros;
    }

    /// @notice The job transcript the silos sign (EIP-712 struct `JobReceipt`).
    /// @param jobId The escrow's job id (`jobIdOf(buyer, requestDigest)`).
    /// @param roundsCompleted Rounds the job finished (≤ R).
    /// @param modelDigest SHA-256 of the final plaintext weights.
    /// @param modelCidDigest Digest of the encrypted model's CID.
    /// @param transcriptRoot h_r = keccak(h_{r−1}, r, survivorsBitmap_r, globalModelDigest_r), h_0 = jobId.
    /// @param roundsByDataset Per dataset index, the rounds its masked input entered the unmasked sum.
    /// @param epsilonSpentMilli ε spent, times 1000.
    /// @param valuationDigest CID digest of the leave-one-out report (reported, never paid on).
    struct JobReceipt {
        bytes32 jobId;
        uint32 roundsCompleted;
        bytes32 modelDigest;
        bytes32 modelCidDigest;
        bytes32 transcriptRoot;
        uint32[] roundsByDataset;
        uint32 epsilonSpentMilli;
        bytes32 valuationDigest;
    }

    /// @notice The signatures a settlement carries.
    /// @param coordinator The coordinator's 65-byte signature of the receipt, or empty.
    /// @param signerMask Bit i set: `silos` holds silo i's signature; signatures follow in index order, 65 bytes each.
    /// @param silos The concatenated silo signatures.
    struct Signatures {
        bytes coordinator;
        uint256 signerMask;
        bytes silos;
    }

    /// @notice A job as stored (`jobOf`). `flags`: bit 0 refunded, bit 1 paid in an ERC-20.
    struct Job {
        bytes32 termsHash;
        uint128 locked;
        uint128 paid;
        address buyer;
        uint40 runDeadline;
        uint40 settleEnd;
        uint8 lastIndex;
        uint8 flags;
        uint256 paidMask;
    }

    /// @notice How a receipt digest of a job was confirmed, and how many silos were paid on it.
    struct Confirmation {
        uint16 silos;
        bool byCoordinator;
        bool byQuorum;
    }

    /// @notice EIP-712 type hash of `JobReceipt` (no spaces after commas, EIP-712 `encodeType`).
    bytes32 public constant RECEIPT_TYPEHASH = keccak256(
        "JobReceipt(bytes32 jobId,uint32 roundsCompleted,bytes32 modelDigest,bytes32 modelCidDigest,bytes32 transcriptRoot,uint32[] roundsByDataset,uint32 epsilonSpentMilli,bytes32 valuationDigest)"
    );
    /// @notice Most datasets in one job (the paid bitmap is one word).
    uint256 public constant MAX_DATASETS = 256;
    /// @notice Smallest SecAgg threshold: one silo alone never confirms.
    uint16 public constant MIN_THRESHOLD = 2;
    /// @notice Longest run from open to `runDeadline`.
    uint256 public constant MAX_RUN_SECONDS = 90 days;
    /// @notice Shortest confirm and fallback windows: wide enough for retries (Ocean ocean-node #1269, #1298).
    uint32 public constant MIN_WINDOW = 1 days;
    /// @notice Longest confirm and fallback windows.
    uint32 public constant MAX_WINDOW = 30 days;

    uint8 private constant REFUNDED = 1;
    uint8 private constant ERC20_JOB = 2;

    /// @notice The dataset registry whose job terms are pinned.
    DatasetNFT public immutable datasets;
    /// @notice The licences a buyer must hold for each dataset of a job.
    DatasetLicence public immutable licences;

    mapping(bytes32 jobId => Job) private _jobs;
    mapping(bytes32 jobId => address) private _currencies;
    mapping(bytes32 jobId => mapping(bytes32 digest => Confirmation)) private _confirmations;

    /// @notice A job was opened and `locked` escrowed, on the terms of the buyer's request `requestDigest`. The header
    /// is the request's (currency, coordinator, t, R, windows, fee) with `runDeadline`; the pinned dataset terms are
    /// `DatasetNFT.jobTermsOf` of the request's datasets at this block. Neither is emitted (~5k gas for data the
    /// silos already hold or read back with an `eth_call` at this block); `termsHash` binds them all.
    event JobOpened(
        bytes32 indexed jobId,
        address indexed buyer,
        bytes32 requestDigest,
        bytes32 termsHash,
        uint256 locked,
        uint40 runDeadline
    );
    /// @notice Receipt `digest` of a job was confirmed by the coordinator or by a quorum of t silos.
    event ReceiptConfirmed(
        bytes32 indexed jobId,
        bytes32 indexed digest,
        bytes32 modelDigest,
        bytes32 modelCidDigest,
        bytes32 transcriptRoot,
        bytes32 valuationDigest,
        uint32 roundsCompleted,
        uint32 epsilonSpentMilli,
        bool byCoordinator
    );
    /// @notice Dataset `datasetId` was paid `amount` for `rounds` rounds: `amount − ⌊amount × feeBps / 10⁴⌋`
    /// credited to `payee`, the rest to fees. (The receipt is the one of the call's `ReceiptConfirmed`, or the
    /// transaction's input; index and fee are left out to keep the event at ~2.7k gas.)
    event ContributionPaid(
        bytes32 indexed jobId, uint256 indexed datasetId, address indexed payee, uint32 rounds, uint256 amount
    );
    /// @notice What was not paid, `amount`, was credited to the buyer; the job is closed.
    event JobRefunded(bytes32 indexed jobId, address indexed buyer, uint256 amount);

    /// @notice A job with this id exists already.
    error JobExists(bytes32 jobId);
    /// @notice No job has this id.
    error UnknownJob(bytes32 jobId);
    /// @notice The job was refunded and is closed.
    error JobClosed(bytes32 jobId);
    /// @notice The dataset and licence lists are empty, of different lengths, or longer than `MAX_DATASETS`.
    error BadDatasetCount(uint256 datasets, uint256 licences);
    /// @notice Dataset ids must be strictly increasing; `index` is the first offender.
    error DatasetIdsNotSorted(uint256 index);
    /// @notice Licence `licenceId` is not valid for the dataset and the buyer.
    error LicenceInvalid(uint256 licenceId, uint256 datasetId, DatasetLicence.Validity reason);
    /// @notice The dataset offers no paid jobs (rate 0) or prices them in another currency.
    error JobsNotOffered(uint256 datasetId, address currency);
    /// @notice A header field is out of range (`field` names it).
    error BadHeader(string field);
    /// @notice `msg.value` or the buyer's price differs from the terms' exact total.
    error IncorrectPayment(uint256 expected, uint256 received);
    /// @notice The token moved fewer units than the price (fee-on-transfer tokens are not supported).
    error TokenTransferShortfall(uint256 expected, uint256 received);
    /// @notice The terms given do not hash to the job's pinned `termsHash`.
    error TermsMismatch(bytes32 jobId);
    /// @notice The receipt's rounds exceed R, or a dataset's exceed the rounds completed, or its list has the wrong length.
    error BadReceipt(bytes32 jobId);
    /// @notice Settlement closed at `settleEnd`.
    error SettlementClosed(bytes32 jobId, uint256 settleEnd);
    /// @notice The coordinator's window closed at `confirmEnd`.
    error CoordinatorWindowClosed(bytes32 jobId, uint256 confirmEnd);
    /// @notice Without the coordinator's confirmation, silos can settle only from `confirmEnd`.
    error CoordinatorWindowOpen(bytes32 jobId, uint256 confirmEnd);
    /// @notice The coordinator's signature does not verify for this receipt.
    error BadCoordinatorSignature(bytes32 jobId);
    /// @notice Silo `index`'s signature does not verify for this receipt under its pinned signer.
    error BadSignature(uint256 index);
    /// @notice The signer mask names an index beyond the job's datasets, or the signatures' length does not match it.
    error BadSignerMask(uint256 signerMask, uint256 signaturesLength);
    /// @notice The fallback path needs `threshold` silo signatures; `given` were.
    error BelowThreshold(uint256 given, uint256 threshold);
    /// @notice Refund opens at `settleEnd` (or once every dataset is paid).
    error RefundNotYet(bytes32 jobId, uint256 settleEnd);

    /// @param datasets_ The dataset registry.
    /// @param licences_ The licence contract.
    /// @param treasury_ Receives protocol fees.
    /// @param feeBps_ Protocol fee in basis points (≤ `MAX_FEE_BPS`); jobs pin it.
    constructor(DatasetNFT datasets_, DatasetLicence licences_, address treasury_, uint16 feeBps_)
        EIP712("Sealfold", "1")
        PullPayments(treasury_, feeBps_)
    {
        if (address(datasets_) == address(0) || address(licences_) == address(0)) revert ZeroAddress();
        datasets = datasets_;
        licences = licences_;
    }

    /// @notice Opens a job and escrows its exact price. The caller is the buyer; the job id is
    /// `jobIdOf(msg.sender, requestDigest)`, so nobody can open a job under another buyer's request.
    /// @param requestDigest EIP-712 digest of the buyer's signed JobRequest.
    /// @param header The terms besides the datasets (see `Header`).
    /// @param datasetIds The job's datasets, strictly increasing; their index is their bit in receipts.
    /// @param licenceIds For each dataset, a licence of it the buyer holds.
    /// @param price The total the buyer agreed to, `Σ rate × rows × R`; for ETH also `msg.value`.
    /// @return jobId The job's id.
    function open(
        bytes32 requestDigest,
        Header calldata header,
        uint256[] calldata datasetIds,
        uint256[] calldata licenceIds,
        uint256 price
    ) external payable nonReentrant returns (bytes32 jobId) {
        jobId = jobIdOf(msg.sender, requestDigest);
        Job storage job = _jobs[jobId];
        if (job.buyer != address(0)) revert JobExists(jobId);
        if (datasetIds.length == 0 || datasetIds.length > MAX_DATASETS || licenceIds.length != datasetIds.length) {
            revert BadDatasetCount(datasetIds.length, licenceIds.length);
        }
        _checkHeader(header, datasetIds.length);

        (Pinned[] memory pinned, uint256 total) = _pin(header, datasetIds, licenceIds);
        if (price != total) revert IncorrectPayment(total, price);
        if (total > type(uint128).max) revert IncorrectPayment(type(uint128).max, total);

        uint8 flags = _collect(header.currency, jobId, total);
        _store(job, jobId, requestDigest, header, pinned, total, flags);
    }

    /// @notice Pays the datasets whose silos signed receipt `receipt`. Anyone may relay; payments go to the pinned
    /// payees. Datasets already paid on this job are skipped, not reverted, so a front-run of part of a batch does
    /// not make the batch fail.
    /// @param header The job's header and `pinned` its datasets, exactly as at open (checked against `termsHash`).
    /// @param receipt The transcript the silos signed.
    /// @param sigs The coordinator's signature (or empty) and the silos' (see `Signatures`).
    /// @return paidNow The total paid by this call (before fees).
    function settle(
        Header calldata header,
        Pinned[] calldata pinned,
        JobReceipt calldata receipt,
        Signatures calldata sigs
    ) external nonReentrant returns (uint256 paidNow) {
        bytes32 jobId = receipt.jobId;
        Job storage job = _checkedJob(jobId, header, pinned);
        if (job.flags & REFUNDED != 0) revert JobClosed(jobId);
        if (block.timestamp >= job.settleEnd) revert SettlementClosed(jobId, job.settleEnd);
        JobCalldata.checkReceipt(receipt, header, pinned.length);
        (bytes32 digest, Confirmation memory c) = _confirm(header, receipt, sigs, pinned.length);
        Confirmation memory before = _confirmations[jobId][digest];
        if (c.byCoordinator != before.byCoordinator || c.byQuorum != before.byQuorum) _emitConfirmed(receipt, digest, c);
        paidNow = _pay(job, header, pinned, receipt, sigs, digest, c);
        _confirmations[jobId][digest] = c;
    }

    /// @notice Credits the buyer with what was not paid and closes the job. Anyone may call, once, from `settleEnd`
    /// or as soon as every dataset has been paid.
    /// @return amount What was credited (`locked − paid`).
    function refund(bytes32 jobId) external returns (uint256 amount) {
        Job storage job = _jobs[jobId];
        address buyer = job.buyer;
        if (buyer == address(0)) revert UnknownJob(jobId);
        uint8 flags = job.flags;
        if (flags & REFUNDED != 0) revert JobClosed(jobId);
        uint256 last = job.lastIndex;
        uint256 all = last == 255 ? type(uint256).max : (uint256(1) << (last + 1)) - 1;
        if (block.timestamp < job.settleEnd && job.paidMask != all) revert RefundNotYet(jobId, job.settleEnd);
        job.flags = flags | REFUNDED;
        amount = job.locked - job.paid;
        if (amount != 0) _credit(flags & ERC20_JOB != 0 ? _currencies[jobId] : address(0), buyer, amount);
        emit JobRefunded(jobId, buyer, amount);
    }

    /// @notice The job id of `buyer`'s request: `keccak256(abi.encode(buyer, requestDigest))`.
    function jobIdOf(address buyer, bytes32 requestDigest) public pure returns (bytes32) {
        return keccak256(abi.encode(buyer, requestDigest));
    }

    /// @notice The hash `open` pins: `keccak256(abi.encode(header, pinned))`.
    function termsHashOf(Header calldata header, Pinned[] calldata pinned) public pure returns (bytes32) {
        return keccak256(abi.encode(header, pinned));
    }

    /// @notice The EIP-712 digest a silo (and the coordinator) signs for `receipt` (domain "Sealfold", "1", this
    /// chain, this contract: a signature never verifies on another job, chain or deployment).
    function hashReceipt(JobReceipt calldata receipt) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    RECEIPT_TYPEHASH,
                    receipt.jobId,
                    receipt.roundsCompleted,
                    receipt.modelDigest,
                    receipt.modelCidDigest,
                    receipt.transcriptRoot,
                    // EIP-712 encodeData of an array: keccak256 of its elements' 32-byte encodings.
                    keccak256(abi.encodePacked(receipt.roundsByDataset)),
                    receipt.epsilonSpentMilli,
                    receipt.valuationDigest
                )
            )
        );
    }

    /// @notice The job as stored; reverts with `UnknownJob` for an unknown id.
    function jobOf(bytes32 jobId) external view returns (Job memory job, address currency) {
        job = _jobs[jobId];
        if (job.buyer == address(0)) revert UnknownJob(jobId);
        currency = _currencies[jobId];
    }

    /// @notice What a silo checks before every round: the job is open (not refunded, before its run deadline) and
    /// funded with exactly the terms `termsHash` it computed from the signed request and the dataset terms.
    function isOpenWith(bytes32 jobId, bytes32 termsHash) external view returns (bool) {
        Job storage job = _jobs[jobId];
        return job.buyer != address(0) && job.flags & REFUNDED == 0 && job.termsHash == termsHash
            && block.timestamp < job.runDeadline;
    }

    /// @notice How receipt `digest` of a job was confirmed and how many silos were paid on it.
    function confirmationOf(bytes32 jobId, bytes32 digest) external view returns (Confirmation memory) {
        return _confirmations[jobId][digest];
    }

    /// @notice A job's pinned terms hash and buyer, for `ModelAsset` (also after the refund: provenance outlives
    /// settlement). Reverts with `UnknownJob`.
    function jobTermsOf(bytes32 jobId) external view returns (bytes32 termsHash, address buyer) {
        Job storage job = _jobs[jobId];
        buyer = job.buyer;
        if (buyer == address(0)) revert UnknownJob(jobId);
        termsHash = job.termsHash;
    }

    /// @notice Reverts with `BadReceipt` unless the receipt fits the job: one entry per dataset, each ≤ the rounds
    /// completed, which are ≤ R.
    function checkReceipt(JobReceipt calldata receipt, Header calldata header, uint256 datasetCount) public pure {
        JobCalldata.checkReceipt(receipt, header, datasetCount);
    }

    /// @dev Reads each dataset's job terms and owner now, checks the buyer's licence, and sums the exact price.
    function _pin(Header calldata header, uint256[] calldata datasetIds, uint256[] calldata licenceIds)
        private
        view
        returns (Pinned[] memory pinned, uint256 total)
    {
        uint256 n = datasetIds.length;
        pinned = new Pinned[](n);
        for (uint256 i; i < n; ++i) {
            uint256 datasetId = datasetIds[i];
            if (i > 0 && datasetId <= datasetIds[i - 1]) revert DatasetIdsNotSorted(i);
            (bool valid, DatasetLicence.Validity reason) = licences.isValid(licenceIds[i], datasetId, msg.sender);
            if (!valid) revert LicenceInvalid(licenceIds[i], datasetId, reason);
            (DatasetNFT.JobTerms memory t, address owner) = datasets.jobTermsOf(datasetId);
            if (t.ratePerRowRound == 0 || t.currency != header.currency) {
                revert JobsNotOffered(datasetId, t.currency);
            }
            pinned[i] = Pinned({
                datasetId: datasetId,
                payee: owner,
                signer: t.siloSigner,
                rate: t.ratePerRowRound,
                rows: t.rows,
                derivativesAllowed: t.derivativesAllowed,
                derivativeShareMicros: t.derivativeShareMicros
            });
            // uint96 × uint64 × uint32 < 2^192 per dataset, at most 2^200 in total: no overflow.
            total += uint256(t.ratePerRowRound) * t.rows * header.rounds;
        }
    }

    /// @dev Takes exactly `total` from the buyer: `msg.value` for ETH, else `transferFrom` with a balance check.
    function _collect(address currency, bytes32 jobId, uint256 total) private returns (uint8 flags) {
        if (currency == address(0)) {
            if (msg.value != total) revert IncorrectPayment(total, msg.value);
            return 0;
        }
        if (msg.value != 0) revert UnexpectedEth();
        IERC20 token = IERC20(currency);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), total);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != total) revert TokenTransferShortfall(total, received);
        _currencies[jobId] = currency;
        return ERC20_JOB;
    }

    function _store(
        Job storage job,
        bytes32 jobId,
        bytes32 requestDigest,
        Header calldata header,
        Pinned[] memory pinned,
        uint256 total,
        uint8 flags
    ) private {
        bytes32 termsHash = keccak256(abi.encode(header, pinned));
        // Slot by slot: the paid bitmap stays an untouched zero slot until the first payment.
        job.termsHash = termsHash;
        job.locked = uint128(total);
        uint40 settleEnd = header.runDeadline + header.confirmWindow + header.fallbackWindow;
        // (buyer 160 | runDeadline 40 | settleEnd 40 | lastIndex 8 | flags 8), the third slot of `Job`, in one
        // SSTORE: field by field the compiler reads and rewrites the slot once per field (~0.7k gas).
        uint256 head = uint256(uint160(msg.sender)) | (uint256(header.runDeadline) << 160)
            | (uint256(settleEnd) << 200) | (uint256(pinned.length - 1) << 240) | (uint256(flags) << 248);
        assembly ("memory-safe") {
            sstore(add(job.slot, 2), head)
        }
        emit JobOpened(jobId, msg.sender, requestDigest, termsHash, total, header.runDeadline);
    }

    /// @dev Establishes how `receipt` is confirmed in this call: already confirmed, by the coordinator's signature in
    /// its window (normal path), or by ≥ t silo signatures after it (fallback, ECONOMICS §2.6). Emits
    /// `ReceiptConfirmed` when the confirmation is new.
    function _confirm(Header calldata header, JobReceipt calldata receipt, Signatures calldata sigs, uint256 n)
        private
        view
        returns (bytes32 digest, Confirmation memory c)
    {
        bytes32 jobId = receipt.jobId;
        digest = hashReceipt(receipt);
        c = _confirmations[jobId][digest];
        uint256 confirmEnd = uint256(header.runDeadline) + header.confirmWindow;
        if (!c.byCoordinator && sigs.coordinator.length != 0) {
            if (block.timestamp >= confirmEnd) revert CoordinatorWindowClosed(jobId, confirmEnd);
            if (!_validSignature(header.coordinator, digest, sigs.coordinator)) revert BadCoordinatorSignature(jobId);
            c.byCoordinator = true;
        }
        uint256 signers = _popcount(sigs.signerMask);
        if ((sigs.signerMask >> n) != 0 || sigs.silos.length != signers * 65) {
            revert BadSignerMask(sigs.signerMask, sigs.silos.length);
        }
        if (!c.byCoordinator && !c.byQuorum) {
            if (block.timestamp < confirmEnd) revert CoordinatorWindowOpen(jobId, confirmEnd);
            if (signers < header.threshold) revert BelowThreshold(signers, header.threshold);
            c.byQuorum = true;
        }
    }

    /// @dev Verifies every silo signature in `sigs` against the signer pinned for its index (so a signature can
    /// neither be counted twice nor redirected) and pays each dataset not yet paid on this job.
    function _pay(
        Job storage job,
        Header calldata header,
        Pinned[] calldata pinned,
        JobReceipt calldata receipt,
        Signatures calldata sigs,
        bytes32 digest,
        Confirmation memory c
    ) private returns (uint256 paidNow) {
        // Accumulators in memory: the loop would not fit the stack otherwise.
        uint256[3] memory t = [job.paidMask, 0, 0]; // paid bitmap, paid now, fees now
        uint256 k;
        for (uint256 i; sigs.signerMask >> i != 0; ++i) {
            if ((sigs.signerMask >> i) & 1 == 0) continue;
            if (!_validSignature(pinned[i].signer, digest, sigs.silos[k * 65:(k + 1) * 65])) revert BadSignature(i);
            ++k;
            if ((t[0] >> i) & 1 != 0) continue;
            t[0] |= 1 << i;
            ++c.silos;
            (uint256 amount, uint256 fee) = _payOne(header.currency, pinned[i], receipt, i);
            t[1] += amount;
            t[2] += fee;
        }
        if (t[0] != job.paidMask) job.paidMask = t[0];
        paidNow = t[1];
        if (paidNow != 0) {
            // paid ≤ locked: each dataset is paid once, at most rate × rows × R (roundsByDataset ≤ rounds ≤ R).
            job.paid += uint128(paidNow);
            if (t[2] != 0) _accrueFee(header.currency, t[2]);
        }
    }

    /// @dev pay_i = rate_i × rows_i × rounds_i (ECONOMICS §2.7): integer, no division, independent per dataset.
    function _payOne(address currency, Pinned calldata p, JobReceipt calldata receipt, uint256 i)
        private
        returns (uint256 amount, uint256 fee)
    {
        bytes32 jobId = receipt.jobId;
        uint32 rounds = receipt.roundsByDataset[i];
        amount = uint256(p.rate) * p.rows * rounds;
        fee = _feeOf(amount);
        if (amount != 0) _credit(currency, p.payee, amount - fee);
        emit ContributionPaid(jobId, p.datasetId, p.payee, rounds, amount);
    }

    function _emitConfirmed(JobReceipt calldata receipt, bytes32 digest, Confirmation memory c) private {
        emit ReceiptConfirmed(
            receipt.jobId,
            digest,
            receipt.modelDigest,
            receipt.modelCidDigest,
            receipt.transcriptRoot,
            receipt.valuationDigest,
            receipt.roundsCompleted,
            receipt.epsilonSpentMilli,
            c.byCoordinator
        );
    }

    function _checkedJob(bytes32 jobId, Header calldata header, Pinned[] calldata pinned)
        private
        view
        returns (Job storage job)
    {
        job = _jobs[jobId];
        if (job.buyer == address(0)) revert UnknownJob(jobId);
        if (JobCalldata.termsHash(header, pinned) != job.termsHash) revert TermsMismatch(jobId);
    }

    function _checkHeader(Header calldata h, uint256 n) private view {
        if (h.coordinator == address(0)) revert BadHeader("coordinator");
        if (h.threshold < MIN_THRESHOLD || h.threshold > n) revert BadHeader("threshold");
        if (h.rounds == 0) revert BadHeader("rounds");
        if (h.runDeadline <= block.timestamp || h.runDeadline > block.timestamp + MAX_RUN_SECONDS) {
            revert BadHeader("runDeadline");
        }
        if (h.confirmWindow < MIN_WINDOW || h.confirmWindow > MAX_WINDOW) revert BadHeader("confirmWindow");
        if (h.fallbackWindow < MIN_WINDOW || h.fallbackWindow > MAX_WINDOW) revert BadHeader("fallbackWindow");
        if (h.feeBps != feeBps) revert BadHeader("feeBps");
    }

    /// @dev ECDSA first (no EXTCODESIZE for the common EOA signer); ERC-1271 only if that fails and the signer has
    /// code. `tryRecoverCalldata` rejects high-s and short signatures, so malleated copies do not verify twice.
    function _validSignature(address signer, bytes32 digest, bytes calldata signature) private view returns (bool) {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        return signer.code.length != 0 && SignatureChecker.isValidERC1271SignatureNow(signer, digest, signature);
    }

    function _popcount(uint256 x) private pure returns (uint256 count) {
        for (; x != 0; ++count) {
            x &= x - 1;
        }
    }
}

/// @notice Checks of a job's calldata shared by `JobEscrow` and `ModelAsset` (internal: inlined, no external call
/// re-encoding the receipt).
library JobCalldata {
    uint256 private constant HEADER_BYTES = 8 * 32;
    uint256 private constant PINNED_BYTES = 7 * 32;

    /// @notice Reverts with `BadReceipt` unless the receipt fits the job: one entry per dataset, each ≤ the rounds
    /// completed, which are ≤ R.
    function checkReceipt(
        JobEscrow.JobReceipt calldata receipt,
        JobEscrow.Header calldata header,
        uint256 datasetCount
    ) internal pure {
        uint32 completed = receipt.roundsCompleted;
        if (completed > header.rounds || receipt.roundsByDataset.length != datasetCount) {
            revert JobEscrow.BadReceipt(receipt.jobId);
        }
        for (uint256 i; i < datasetCount; ++i) {
            if (receipt.roundsByDataset[i] > completed) revert JobEscrow.BadReceipt(receipt.jobId);
        }
    }

    /// @notice `keccak256(abi.encode(header, pinned))` of terms passed in calldata, hashed from the calldata bytes as
    /// they are instead of re-encoded field by field (~0.9k gas per pinned dataset: 17k with 20). Sound because both
    /// types are static: the canonical encoding is (header words, offset 0x120, length, the elements' words), which is
    /// what a well-formed calldata argument holds; a non-canonical one (dirty high bits) hashes differently and is
    /// refused as a terms mismatch, never accepted with other values.
    function termsHash(JobEscrow.Header calldata header, JobEscrow.Pinned[] calldata pinned)
        internal
        pure
        returns (bytes32 hash)
    {
        uint256 n = pinned.length;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, header, HEADER_BYTES)
            mstore(add(p, HEADER_BYTES), add(HEADER_BYTES, 0x20)) // offset of the array: after the header and itself
            mstore(add(p, add(HEADER_BYTES, 0x20)), n)
            calldatacopy(add(p, add(HEADER_BYTES, 0x40)), pinned.offset, mul(n, PINNED_BYTES))
            hash := keccak256(p, add(add(HEADER_BYTES, 0x40), mul(n, PINNED_BYTES)))
        }
    }
}
