// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {DatasetNFT} from "./DatasetNFT.sol";
import {JobEscrow, JobCalldata} from "./JobEscrow.sol";
import {PullPayments} from "./PullPayments.sol";

/// @title ModelAsset
/// @notice A trained model as a licensed derivative (docs/ECONOMICS.md §2.8). With a receipt of its job that is
/// confirmed in `JobEscrow` and carries at least t silo signatures, the job's buyer registers the model as an
/// ERC-721 token (id = the job id, so once per job) whose parents are the datasets that trained it. Only a Merkle
/// root of the parents is stored, never the list. Each parent's upstream share is its owner's derivative share,
/// weighted by rows × rounds: share_i = ⌊s_i × w_i / W⌋, w_i = rows_i × rounds_i, W = Σ w_j; the stack S = Σ share_i
/// never exceeds the largest s_i (≤ 50%), so splitting a dataset into shells does not raise it.
///
/// A model licence sale at price P adds P to the model's gross G and moves ⌊G_new·S/10⁶⌋ − ⌊G_old·S/10⁶⌋ into the
/// upstream pot: O(1) whatever the number of parents. Each parent pulls ⌊G·share_i/10⁶⌋ − taken_i with a Merkle
/// proof (`claimUpstream`, anyone may call), credited to the dataset's owner at claim time. Since Σ share_i = S,
/// Σ ⌊G·share_i⌋ ≤ ⌊G·S⌋: the pot is never overdrawn.
contract ModelAsset is ERC721, PullPayments {
    /// @dev Two slots per model: the parents root and (gross | price | stack). The receipt digest is emitted, not
    /// stored: the model id is the job id, and JobEscrow keeps the receipt's confirmation.
    struct Model {
        bytes32 parentsRoot;
        uint128 gross;
        uint96 price;
        uint32 stackMicros;
    }

    /// @notice A model as returned by `modelOf`.
    struct ModelInfo {
        address owner;
        bytes32 parentsRoot;
        uint256 gross;
        uint256 price;
        uint32 stackMicros;
    }

    uint256 private constant MICROS = 1_000_000;

    /// @notice The escrow whose confirmed receipts models are registered from.
    JobEscrow public immutable escrow;
    /// @notice The dataset registry (parents are credited to their current owner).
    DatasetNFT public immutable datasets;

    mapping(uint256 modelId => Model) private _models;
    mapping(uint256 modelId => mapping(uint256 datasetId => uint256)) private _taken;
    mapping(uint256 modelId => mapping(address account => bool)) private _licensed;

    /// @notice Model `modelId` (= job id) was registered to `owner` from receipt `receiptDigest`. The parents and
    /// their shares (the leaves of `parentsRoot`, leaf = keccak256(keccak256(abi.encode(datasetId, shareMicros))))
    /// are not emitted: `parentsOf` recomputes them from the job's terms and receipt (emitting them cost ~13k gas
    /// with 20 parents).
    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        bytes32 receiptDigest,
        bytes32 modelDigest,
        bytes32 modelCidDigest,
        bytes32 parentsRoot,
        uint32 stackMicros,
        uint256 parentCount
    );
    /// @notice The owner set the licence price of a model (0: not for sale).
    event LicencePriceSet(uint256 indexed modelId, uint256 price);
    /// @notice `buyer` bought a licence of a model for `price`: `fee` to the treasury, `upstream` into the parents'
    /// pot, the rest credited to `owner`.
    event ModelLicenceSold(
        uint256 indexed modelId, address indexed buyer, address indexed owner, uint256 price, uint256 fee, uint256 upstream
    );
    /// @notice `amount` of a model's pot was credited to `account`, owner of parent dataset `datasetId`.
    event UpstreamClaimed(uint256 indexed modelId, uint256 indexed datasetId, address indexed account, uint256 amount);

    /// @notice Only the job's buyer registers its model.
    error NotBuyer(address caller, address buyer);
    /// @notice The receipt is not confirmed, or fewer than t silos were paid on it.
    error ReceiptNotConfirmed(bytes32 digest, uint256 silos, uint256 threshold);
    /// @notice A dataset that contributed refuses derivatives.
    error DerivativesNotAllowed(uint256 datasetId);
    /// @notice No dataset contributed a round.
    error NoParents();
    /// @notice `caller` does not own model `modelId`.
    error NotModelOwner(uint256 modelId, address caller);
    /// @notice The model is not for sale (price 0).
    error NotForSale(uint256 modelId);
    /// @notice `msg.value` differs from the price.
    error IncorrectPayment(uint256 expected, uint256 received);
    /// @notice The price exceeds 2^96 − 1.
    error PriceTooHigh(uint256 price);
    /// @notice The (dataset, share) leaf is not in the model's parents root.
    error NotAParent(uint256 modelId, uint256 datasetId);

    /// @param escrow_ The job escrow.
    /// @param treasury_ Receives protocol fees on model licence sales.
    /// @param feeBps_ Protocol fee in basis points (≤ `MAX_FEE_BPS`).
    constructor(JobEscrow escrow_, address treasury_, uint16 feeBps_)
        ERC721("Sealfold Model", "SFMOD")
        PullPayments(treasury_, feeBps_)
    {
        if (address(escrow_) == address(0)) revert ZeroAddress();
        escrow = escrow_;
        datasets = escrow_.datasets();
    }

    /// @notice Registers the model trained by a job as a derivative of the datasets that contributed to it and mints
    /// it to the buyer (the caller). Needs the job's terms exactly as pinned and a receipt that `JobEscrow` confirmed
    /// with ≥ t silos paid on it. Once per job (the token id is the job id).
    /// @return modelId The token id, `uint256(receipt.jobId)`.
    function register(
        JobEscrow.Header calldata header,
        JobEscrow.Pinned[] calldata pinned,
        JobEscrow.JobReceipt calldata receipt
    ) external returns (uint256 modelId) {
        // The terms are hashed here rather than handed to the escrow: ABI-encoding the pinned array for a call
        // cost more than the hash itself (measured: ~40k gas with 20 parents).
        (bytes32 termsHash, address buyer) = escrow.jobTermsOf(receipt.jobId);
        if (JobCalldata.termsHash(header, pinned) != termsHash) revert JobEscrow.TermsMismatch(receipt.jobId);
        if (msg.sender != buyer) revert NotBuyer(msg.sender, buyer);
        JobCalldata.checkReceipt(receipt, header, pinned.length);
        bytes32 digest = escrow.hashReceipt(receipt);
        JobEscrow.Confirmation memory c = escrow.confirmationOf(receipt.jobId, digest);
        if ((!c.byCoordinator && !c.byQuorum) || c.silos < header.threshold) {
            revert ReceiptNotConfirmed(digest, c.silos, header.threshold);
        }
        (uint256[] memory parentIds,, bytes32 root, uint32 stack) = _parents(pinned, receipt);
        modelId = uint256(receipt.jobId);
        _models[modelId] = Model({parentsRoot: root, gross: 0, price: 0, stackMicros: stack});
        _mint(buyer, modelId);
        emit ModelRegistered(
            modelId, buyer, digest, receipt.modelDigest, receipt.modelCidDigest, root, stack, parentIds.length
        );
    }

    /// @notice Sets the ETH price of a licence of model `modelId` (0 stops sales). Only the model's owner.
    function setLicencePrice(uint256 modelId, uint256 price) external {
        if (_requireOwned(modelId) != msg.sender) revert NotModelOwner(modelId, msg.sender);
        if (price > type(uint96).max) revert PriceTooHigh(price);
        _models[modelId].price = uint96(price);
        emit LicencePriceSet(modelId, price);
    }

    /// @notice Buys a licence of model `modelId`; `msg.value` must equal its price exactly. The parents' share goes
    /// to the upstream pot in constant gas, whatever the number of parents.
    function buyLicence(uint256 modelId) external payable {
        address owner = _requireOwned(modelId);
        Model storage m = _models[modelId];
        uint256 price = m.price;
        if (price == 0) revert NotForSale(modelId);
        if (msg.value != price) revert IncorrectPayment(price, msg.value);
        uint256 grossBefore = m.gross;
        uint256 grossAfter = grossBefore + price;
        uint256 stack = m.stackMicros;
        uint256 upstream = (grossAfter * stack) / MICROS - (grossBefore * stack) / MICROS;
        uint256 fee = _feeOf(price);
        // fee ≤ 10% and upstream ≤ ⌈50% of price⌉, so the owner's part is never negative (checked anyway).
        m.gross = uint128(grossAfter);
        _licensed[modelId][msg.sender] = true;
        _accrueFee(address(0), fee);
        _credit(address(0), owner, price - fee - upstream);
        emit ModelLicenceSold(modelId, msg.sender, owner, price, fee, upstream);
    }

    /// @notice Credits parent `datasetId`'s current owner with its share of the model's pot not yet taken. Anyone may
    /// call; a second claim with nothing new due credits 0.
    /// @param shareMicros The parent's share, as emitted in `ModelRegistered`.
    /// @param proof Merkle proof of the leaf (datasetId, shareMicros) in the model's parents root.
    /// @return amount What was credited now.
    function claimUpstream(uint256 modelId, uint256 datasetId, uint32 shareMicros, bytes32[] calldata proof)
        external
        returns (uint256 amount)
    {
        _requireOwned(modelId);
        Model storage m = _models[modelId];
        if (!MerkleProof.verifyCalldata(proof, m.parentsRoot, _leaf(datasetId, shareMicros))) {
            revert NotAParent(modelId, datasetId);
        }
        uint256 due = (uint256(m.gross) * shareMicros) / MICROS;
        uint256 taken = _taken[modelId][datasetId];
        if (due == taken) return 0;
        amount = due - taken;
        _taken[modelId][datasetId] = due;
        address account = datasets.ownerOf(datasetId);
        _credit(address(0), account, amount);
        emit UpstreamClaimed(modelId, datasetId, account, amount);
    }

    /// @notice The parents a model registered from these job terms and receipt has: dataset ids, shares (micros),
    /// the Merkle root of their leaves and the stack. Pure: claimers compute their leaf and proof from it.
    function parentsOf(JobEscrow.Pinned[] calldata pinned, JobEscrow.JobReceipt calldata receipt)
        external
        pure
        returns (uint256[] memory parentIds, uint32[] memory shareMicros, bytes32 root, uint32 stackMicros)
    {
        return _parents(pinned, receipt);
    }

    /// @notice A registered model; reverts with `ERC721NonexistentToken` for an unknown id.
    function modelOf(uint256 modelId) external view returns (ModelInfo memory) {
        address owner = _requireOwned(modelId);
        Model memory m = _models[modelId];
        return ModelInfo(owner, m.parentsRoot, m.gross, m.price, m.stackMicros);
    }

    /// @notice What parent `datasetId` has taken from the model's pot so far.
    function upstreamTaken(uint256 modelId, uint256 datasetId) external view returns (uint256) {
        return _taken[modelId][datasetId];
    }

    /// @notice Whether `account` bought a licence of model `modelId`.
    function isLicensed(uint256 modelId, address account) external view returns (bool) {
        return _licensed[modelId][account];
    }

    /// @notice The leaf of parent (datasetId, shareMicros) in a parents root (double hash, OpenZeppelin's
    /// StandardMerkleTree convention, so a leaf can never pass as an inner node).
    function leafOf(uint256 datasetId, uint32 shareMicros) external pure returns (bytes32) {
        return _leaf(datasetId, shareMicros);
    }

    function _leaf(uint256 datasetId, uint32 shareMicros) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(datasetId, shareMicros))));
    }

    /// @dev The contributing parents (rounds > 0), their weighted shares, the Merkle root of their leaves and the
    /// stack S = Σ share_i.
    function _parents(JobEscrow.Pinned[] calldata pinned, JobEscrow.JobReceipt calldata receipt)
        private
        pure
        returns (uint256[] memory parentIds, uint32[] memory shares, bytes32 root, uint32 stack)
    {
        (uint256 count, uint256 totalWeight) = _weights(pinned, receipt);
        parentIds = new uint256[](count);
        shares = new uint32[](count);
        bytes32[] memory leaves = new bytes32[](count);
        uint256 k;
        for (uint256 i; i < pinned.length; ++i) {
            uint256 rounds = receipt.roundsByDataset[i];
            if (rounds == 0) continue;
            // share_i = ⌊s_i × w_i / W⌋ ≤ s_i, and Σ share_i ≤ max s_i ≤ 50%.
            uint32 share = uint32((pinned[i].derivativeShareMicros * (pinned[i].rows * rounds)) / totalWeight);
            parentIds[k] = pinned[i].datasetId;
            shares[k] = share;
            leaves[k] = _leaf(pinned[i].datasetId, share);
            stack += share;
            ++k;
        }
        root = _merkleRoot(leaves);
    }

    /// @dev How many datasets contributed and W = Σ rows_i × rounds_i; refuses a contributor without derivatives.
    function _weights(JobEscrow.Pinned[] calldata pinned, JobEscrow.JobReceipt calldata receipt)
        private
        pure
        returns (uint256 count, uint256 totalWeight)
    {
        for (uint256 i; i < pinned.length; ++i) {
            uint256 rounds = receipt.roundsByDataset[i];
            if (rounds == 0) continue;
            if (!pinned[i].derivativesAllowed) revert DerivativesNotAllowed(pinned[i].datasetId);
            totalWeight += pinned[i].rows * rounds;
            ++count;
        }
        if (count == 0) revert NoParents();
    }

    /// @dev Root of a Merkle tree over `leaves` (pairs hashed commutatively, as `MerkleProof` verifies; an odd node
    /// is carried up unchanged). Overwrites `leaves`.
    function _merkleRoot(bytes32[] memory leaves) private pure returns (bytes32) {
        for (uint256 width = leaves.length; width > 1; width = (width + 1) / 2) {
            for (uint256 j; j < width / 2; ++j) {
                leaves[j] = Hashes.commutativeKeccak256(leaves[2 * j], leaves[2 * j + 1]);
            }
            if (width % 2 == 1) leaves[width / 2] = leaves[width - 1];
        }
        return leaves[0];
    }
}
