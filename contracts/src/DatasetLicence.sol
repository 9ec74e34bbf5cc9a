// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {DatasetNFT} from "./DatasetNFT.sol";
import {LicenceId} from "./lib/LicenceId.sol";

/// @title DatasetLicence
/// @notice Licences to train on a dataset registered in `DatasetNFT`. Each licence is its own ERC-721 token because
/// each carries its own terms (dataset, expiry, jobs, ε budget), fixed when it is issued and encoded in its token id
/// (see `LicenceId`), so issuing one writes no storage beyond the ERC-721 owner and balance. A licence is bought at the
/// dataset's listed price or granted by the dataset owner, can be revoked by the dataset owner, and is transferable:
/// whoever holds it when a job runs is the licensee.
///
/// Buyers pin the terms they read: `purchase` and `purchaseWithToken` take `DatasetNFT.termsHashOf(datasetId)` as
/// the buyer saw it and revert with `TermsChanged` when the listing differs in any field, so an owner who raises the
/// price or cuts the jobs, ε, duration or owner minimum between display and inclusion sells nothing.
///
/// Sale proceeds are escrowed per licence and vest linearly over the licence's paid time: from issue to expiry, or
/// over `PERPETUAL_VESTING` for a licence that never expires. Anyone may `release` what has vested to the dataset's
/// current owner (pull payments, `withdraw`). When the owner revokes, what has vested goes to the owner and the rest
/// (the unused part of the paid time) is credited to the licence's holder in the same call, so a refund never
/// depends on the owner still holding funds: the owner can only ever withdraw what time has earned. The protocol fee
/// (at most 10%) is charged at sale and is not refunded.
/// @dev Finding a holder's licence: enumeration (ERC721Enumerable) would add four storage writes to every purchase,
/// so clients collect candidate ids from `Transfer`/`LicenceIssued` logs and ask `isValid` or `firstValid`.
/// A sale's bookkeeping is one new slot per licence (its escrow, `Sale`) and one slot holding the licence counter and
/// the accrued ETH fees; the owner's credit is written when proceeds are released, not at sale.
contract DatasetLicence is ERC721, IERC2981, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Why a licence is not valid for a dataset and holder (`Valid` when it is).
    enum Validity {
        Valid,
        NotFound,
        WrongDataset,
        NotHolder,
        Revoked,
        Expired
    }

    /// @notice A licence as returned by `licenceOf`.
    /// @param serial Issue number, 1 for the first licence of this contract.
    /// @param datasetId The dataset it licenses.
    /// @param holder Its current holder.
    /// @param expiresAt Unix time after which it is expired; 0 means it never expires.
    /// @param maxJobs Training jobs it allows.
    /// @param epsilonBudgetMilli ε budget it allows, times 1000 (type(uint32).max: unbounded, no ε limit).
    /// @param revoked Whether the dataset owner revoked it.
    /// @param granted Whether it was granted (true) or purchased (false).
    struct LicenceInfo {
        uint256 serial;
        uint256 datasetId;
        address holder;
        uint64 expiresAt;
        uint32 maxJobs;
        uint32 epsilonBudgetMilli;
        bool revoked;
        bool granted;
    }

    /// @dev One slot, written by every sale and issue. `initialized` is set by the constructor so that the slot is
    /// never zero and the first sale pays a warm write, not a new slot.
    struct Counters {
        uint56 lastSerial;
        uint192 ethFees;
        bool initialized;
    }

    /// @notice A sale's escrow as returned by `saleOf`.
    /// @param paymentToken The currency paid (zero address: ETH).
    /// @param amount What the buyer paid less the protocol fee: the most the owner and the holder can ever share.
    /// @param released What has left escrow (to the owner, or as the refund at revocation).
    /// @param startedAt When the licence was issued: vesting starts here.
    /// @param vestsAt When all of `amount` has vested: the expiry, or `startedAt + PERPETUAL_VESTING`.
    /// @param releasable What has vested and not been released now (0 once revoked: revocation settles everything).
    struct SaleInfo {
        address paymentToken;
        uint256 amount;
        uint256 released;
        uint64 startedAt;
        uint64 vestsAt;
        uint256 releasable;
    }

    /// @dev One slot per licence (96 + 96 + 40 + 8 bits), written by a sale and by a revocation (granted licences
    /// have `amount` 0). `released` never exceeds `amount`; a revoked sale has `released == amount`.
    struct Sale {
        uint96 amount;
        uint96 released;
        uint40 startedAt;
        bool revoked;
    }

    /// @dev One slot, read by every sale.
    struct FeeConfig {
        address treasury;
        uint16 feeBps;
    }

    /// @notice May set the protocol fee and the treasury.
    bytes32 public constant FEE_ADMIN_ROLE = keccak256("FEE_ADMIN_ROLE");
    /// @notice Highest protocol fee: 10% of a sale.
    uint16 public constant MAX_FEE_BPS = 1_000;
    /// @notice Vesting period of the proceeds of a licence that never expires: revoked within it, the buyer gets the
    /// unvested share back; after it, the owner has earned the whole price.
    uint64 public constant PERPETUAL_VESTING = 365 days;

    /// @notice The dataset registry whose tokens these licences refer to.
    DatasetNFT public immutable datasets;

    Counters private _counters;
    FeeConfig private _feeConfig;
    mapping(uint256 licenceId => Sale) private _sales;
    /// @dev Written only for sales paid in an ERC-20: the token the escrow is held in.
    mapping(uint256 licenceId => address) private _saleToken;
    /// @dev ETH owed to an account, stored as amount + 1 once the account was first credited, so that a
    /// withdrawal leaves the slot non-zero and the next credit costs a warm write instead of a new slot (the same
    /// reasoning as OpenZeppelin's ReentrancyGuard keeping 1/2 rather than 0/1).
    mapping(address account => uint256) private _ethCredit;
    mapping(address token => mapping(address account => uint256)) private _tokenCredit;
    mapping(address token => uint256) private _tokenFees;

    /// @notice A licence was sold to terms whose hash the buyer pinned. `price - fee` in `paymentToken` (zero address:
    /// ETH) went into the licence's escrow; `owner` is the dataset owner at the sale.
    event LicencePurchased(
        uint256 indexed licenceId,
        uint256 indexed datasetId,
        address indexed buyer,
        address owner,
        address paymentToken,
        uint256 price,
        uint256 fee,
        uint64 expiresAt
    );
    /// @notice The dataset owner granted a licence to `holder`.
    event LicenceGranted(
        uint256 indexed licenceId,
        uint256 indexed datasetId,
        address indexed holder,
        uint64 expiresAt,
        uint32 maxJobs,
        uint32 epsilonBudgetMilli
    );
    /// @notice The dataset owner `by` revoked a licence.
    event LicenceRevoked(uint256 indexed licenceId, uint256 indexed datasetId, address indexed by, string reason);
    /// @notice At revocation, `holder` was credited `amount` of `token` (zero address: ETH): the unvested escrow.
    event LicenceRefunded(uint256 indexed licenceId, address indexed holder, address indexed token, uint256 amount);
    /// @notice Vested escrow of a licence, `amount` of `token`, was credited to the dataset owner `owner`.
    event ProceedsReleased(uint256 indexed licenceId, address indexed owner, address indexed token, uint256 amount);
    /// @notice `account` withdrew `amount` of `token` (zero address: ETH) owed to it.
    event Withdrawn(address indexed account, address indexed token, uint256 amount);
    /// @notice Accrued protocol fees of `token` (zero address: ETH) were paid to `treasury`.
    event FeesWithdrawn(address indexed treasury, address indexed token, uint256 amount);
    /// @notice The protocol fee changed.
    event FeeUpdated(uint16 previousFeeBps, uint16 feeBps);
    /// @notice The treasury changed.
    event TreasuryUpdated(address indexed previousTreasury, address indexed treasury);

    /// @notice The dataset is not listed for sale.
    error DatasetNotListed(uint256 datasetId);
    /// @notice The dataset has no ETH price (it may be sold for a token only).
    error EthPaymentNotAccepted(uint256 datasetId);
    /// @notice The dataset has no ERC-20 price.
    error TokenPaymentNotAccepted(uint256 datasetId);
    /// @notice The listing's terms hash is `current`, not the `pinned` one the buyer read: the owner changed the terms.
    error TermsChanged(uint256 datasetId, bytes32 pinned, bytes32 current);
    /// @notice `msg.value` differs from the listed price; both less and more are refused.
    error IncorrectPayment(uint256 expected, uint256 received);
    /// @notice The token moved fewer units than the price (fee-on-transfer tokens are not supported).
    error TokenTransferShortfall(uint256 expected, uint256 received);
    /// @notice `caller` is not the owner of dataset `datasetId`.
    error NotDatasetOwner(uint256 datasetId, address caller);
    /// @notice The licence was already revoked.
    error AlreadyRevoked(uint256 licenceId);
    /// @notice A revoked licence cannot change hands.
    error RevokedLicenceNotTransferable(uint256 licenceId);
    /// @notice Granted terms are invalid (zero jobs, zero ε budget or a duration beyond the maximum).
    error InvalidGrantTerms();
    /// @notice Nothing is owed to the caller (or no fees accrued) in this currency.
    error NothingToWithdraw();
    /// @notice The fee exceeds `MAX_FEE_BPS`.
    error FeeTooHigh(uint256 feeBps, uint256 max);
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();
    /// @notice The dataset id does not fit the 64 bits a licence id holds (DatasetNFT ids never reach this).
    error DatasetIdTooLarge(uint256 datasetId);
    /// @notice ETH sent outside `purchase`.
    error UnexpectedEth();

    /// @param datasets_ The dataset registry.
    /// @param admin Receives DEFAULT_ADMIN_ROLE and FEE_ADMIN_ROLE.
    /// @param treasury_ Receives protocol fees.
    /// @param feeBps_ The initial protocol fee in basis points, at most `MAX_FEE_BPS`.
    constructor(DatasetNFT datasets_, address admin, address treasury_, uint16 feeBps_)
        ERC721("Sealfold Dataset Licence", "SFLIC")
    {
        if (address(datasets_) == address(0) || admin == address(0) || treasury_ == address(0)) revert ZeroAddress();
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        datasets = datasets_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(FEE_ADMIN_ROLE, admin);
        _feeConfig = FeeConfig({treasury: treasury_, feeBps: feeBps_});
        _counters.initialized = true;
        emit TreasuryUpdated(address(0), treasury_);
        emit FeeUpdated(0, feeBps_);
    }

    /// @notice Buys a licence of `datasetId` with ETH; `msg.value` must equal the listed price exactly.
    /// @param termsHash `DatasetNFT.termsHashOf(datasetId)` as the buyer read it: the sale happens only on exactly
    /// those terms (price, duration, jobs, ε, minimum owners, royalty, token price), else `TermsChanged`.
    /// @return licenceId The new licence, minted to the caller with the pinned terms.
    function purchase(uint256 datasetId, bytes32 termsHash) external payable nonReentrant returns (uint256 licenceId) {
        (
            address owner,
            uint256 price,
            uint64 duration,
            uint32 maxJobs,
            uint32 epsilonMilli,
            bool listed,
            bytes32 currentHash
        ) = datasets.ethSaleTerms(datasetId);
        if (!listed) revert DatasetNotListed(datasetId);
        if (currentHash != termsHash) revert TermsChanged(datasetId, termsHash, currentHash);
        if (price == 0) revert EthPaymentNotAccepted(datasetId);
        if (msg.value != price) revert IncorrectPayment(price, msg.value);

        uint256 fee = (price * _feeConfig.feeBps) / 10_000;
        Counters memory counters = _counters;
        uint56 serial = counters.lastSerial + 1;
        _counters = Counters({lastSerial: serial, ethFees: counters.ethFees + uint192(fee), initialized: true});
        uint64 expiresAt;
        (licenceId, expiresAt) = _issue(serial, datasetId, msg.sender, duration, maxJobs, epsilonMilli, false);
        // price <= DatasetNFT.MAX_PRICE_WEI < 2^88
        _sales[licenceId] =
            Sale({amount: uint96(price - fee), released: 0, startedAt: uint40(block.timestamp), revoked: false});
        emit LicencePurchased(licenceId, datasetId, msg.sender, owner, address(0), price, fee, expiresAt);
    }

    /// @notice Buys a licence of `datasetId` with the dataset's ERC-20 (approve `priceToken` first).
    /// @param termsHash `DatasetNFT.termsHashOf(datasetId)` as the buyer read it; it covers the token and its price,
    /// so a change of terms between signing and inclusion reverts (`TermsChanged`) instead of paying more.
    /// @return licenceId The new licence, minted to the caller with the pinned terms.
    function purchaseWithToken(uint256 datasetId, bytes32 termsHash) external nonReentrant returns (uint256 licenceId) {
        DatasetNFT.Terms memory terms = datasets.termsOf(datasetId);
        if (!terms.listed) revert DatasetNotListed(datasetId);
        bytes32 currentHash = keccak256(abi.encode(terms));
        if (currentHash != termsHash) revert TermsChanged(datasetId, termsHash, currentHash);
        if (terms.paymentToken == address(0)) revert TokenPaymentNotAccepted(datasetId);
        address owner = datasets.ownerOf(datasetId);

        IERC20 token = IERC20(terms.paymentToken);
        uint256 price = terms.priceToken;
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), price);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != price) revert TokenTransferShortfall(price, received);

        uint256 fee = (price * _feeConfig.feeBps) / 10_000;
        _tokenFees[address(token)] += fee;
        uint56 serial = ++_counters.lastSerial;

        uint64 expiresAt;
        (licenceId, expiresAt) = _issue(
            serial, datasetId, msg.sender, terms.licenceDuration, terms.maxJobs, terms.epsilonBudgetMilli, false
        );
        // price <= DatasetNFT.MAX_PRICE_TOKEN < 2^96
        _sales[licenceId] =
            Sale({amount: uint96(price - fee), released: 0, startedAt: uint40(block.timestamp), revoked: false});
        _saleToken[licenceId] = address(token);
        emit LicencePurchased(licenceId, datasetId, msg.sender, owner, address(token), price, fee, expiresAt);
    }

    /// @notice Issues a licence of `datasetId` to `to` free of charge, with terms chosen here. Only the dataset
    /// owner; works whether or not the dataset is listed.
    /// @param duration Seconds of validity from now; 0 means it never expires.
    /// @param maxJobs Training jobs it allows (at least 1).
    /// @param epsilonBudgetMilli ε budget times 1000 (at least 1; type(uint32).max: unbounded, no ε limit).
    /// @return licenceId The new licence.
    function grant(uint256 datasetId, address to, uint64 duration, uint32 maxJobs, uint32 epsilonBudgetMilli)
        external
        returns (uint256 licenceId)
    {
        _checkDatasetOwner(datasetId);
        if (maxJobs == 0 || epsilonBudgetMilli == 0 || duration > datasets.MAX_LICENCE_DURATION()) {
            revert InvalidGrantTerms();
        }
        uint56 serial = ++_counters.lastSerial;
        uint64 expiresAt;
        (licenceId, expiresAt) = _issue(serial, datasetId, to, duration, maxJobs, epsilonBudgetMilli, true);
        emit LicenceGranted(licenceId, datasetId, to, expiresAt, maxJobs, epsilonBudgetMilli);
    }

    /// @notice Revokes a licence for good. Only the current owner of the licence's dataset. Settles its escrow in the
    /// same call: what has vested by now is credited to the owner, the rest (the unused share of the paid time) to
    /// the licence's holder, who withdraws it with `withdraw`/`withdrawToken`.
    /// @param reason Human-readable cause, recorded in the event.
    function revoke(uint256 licenceId, string calldata reason) external {
        address holder = _requireOwned(licenceId);
        uint256 datasetId = LicenceId.datasetId(licenceId);
        _checkDatasetOwner(datasetId);
        Sale memory sale = _sales[licenceId];
        if (sale.revoked) revert AlreadyRevoked(licenceId);
        uint256 vested = _vested(sale, licenceId);
        _sales[licenceId] =
            Sale({amount: sale.amount, released: sale.amount, startedAt: sale.startedAt, revoked: true});
        emit LicenceRevoked(licenceId, datasetId, msg.sender, reason);
        if (sale.amount == 0) return;
        address token = _saleToken[licenceId];
        uint256 due = vested - sale.released;
        uint256 refund = sale.amount - vested;
        if (due > 0) {
            _credit(token, msg.sender, due);
            emit ProceedsReleased(licenceId, msg.sender, token, due);
        }
        if (refund > 0) {
            _credit(token, holder, refund);
            emit LicenceRefunded(licenceId, holder, token, refund);
        }
    }

    /// @notice Credits the vested, unreleased proceeds of each licence to its dataset's current owner. Anyone may
    /// call; unknown, granted, revoked or fully released licences are skipped.
    /// @return total The sum credited (mixing currencies when the licences were paid in different ones).
    function release(uint256[] calldata licenceIds) external returns (uint256 total) {
        for (uint256 i; i < licenceIds.length; ++i) {
            uint256 licenceId = licenceIds[i];
            Sale memory sale = _sales[licenceId];
            if (sale.revoked || sale.amount == sale.released) continue;
            uint256 due = _vested(sale, licenceId) - sale.released;
            if (due == 0) continue;
            _sales[licenceId].released = sale.released + uint96(due);
            address owner = datasets.ownerOf(LicenceId.datasetId(licenceId));
            address token = _saleToken[licenceId];
            _credit(token, owner, due);
            emit ProceedsReleased(licenceId, owner, token, due);
            total += due;
        }
    }

    /// @notice Pays the caller all ETH owed to it.
    function withdraw() external nonReentrant {
        uint256 credit = _ethCredit[msg.sender];
        if (credit <= 1) revert NothingToWithdraw();
        _ethCredit[msg.sender] = 1;
        uint256 amount = credit - 1;
        emit Withdrawn(msg.sender, address(0), amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    /// @notice Pays the caller all of `token` owed to it.
    function withdrawToken(address token) external nonReentrant {
        uint256 amount = _tokenCredit[token][msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        _tokenCredit[token][msg.sender] = 0;
        emit Withdrawn(msg.sender, token, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    /// @notice Pays the accrued ETH fees to the treasury. Anyone may call; the funds only go to the treasury.
    function withdrawFees() external nonReentrant {
        uint256 amount = _counters.ethFees;
        if (amount == 0) revert NothingToWithdraw();
        _counters.ethFees = 0;
        address to = _feeConfig.treasury;
        emit FeesWithdrawn(to, address(0), amount);
        Address.sendValue(payable(to), amount);
    }

    /// @notice Pays the accrued fees in `token` to the treasury. Anyone may call.
    function withdrawTokenFees(address token) external nonReentrant {
        uint256 amount = _tokenFees[token];
        if (amount == 0) revert NothingToWithdraw();
        _tokenFees[token] = 0;
        address to = _feeConfig.treasury;
        emit FeesWithdrawn(to, token, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    /// @notice Sets the protocol fee (basis points, at most `MAX_FEE_BPS`). Only FEE_ADMIN_ROLE.
    function setFee(uint16 newFeeBps) external onlyRole(FEE_ADMIN_ROLE) {
        if (newFeeBps > MAX_FEE_BPS) revert FeeTooHigh(newFeeBps, MAX_FEE_BPS);
        uint16 previous = _feeConfig.feeBps;
        _feeConfig.feeBps = newFeeBps;
        emit FeeUpdated(previous, newFeeBps);
    }

    /// @notice Sets the treasury that receives protocol fees. Only FEE_ADMIN_ROLE.
    function setTreasury(address newTreasury) external onlyRole(FEE_ADMIN_ROLE) {
        if (newTreasury == address(0)) revert ZeroAddress();
        address previous = _feeConfig.treasury;
        _feeConfig.treasury = newTreasury;
        emit TreasuryUpdated(previous, newTreasury);
    }

    /// @notice Whether `licenceId` is a valid licence of `datasetId` held by `holder` now, and if not, why.
    /// Reasons are checked in the order NotFound, WrongDataset, NotHolder, Revoked, Expired.
    function isValid(uint256 licenceId, uint256 datasetId, address holder)
        public
        view
        returns (bool valid, Validity reason)
    {
        reason = _validity(licenceId, datasetId, holder);
        valid = reason == Validity.Valid;
    }

    /// @notice The first of `licenceIds` that is valid for `datasetId` and `holder` (candidates typically come from
    /// the holder's `Transfer` logs). Returns (0, reason of the last candidate) when none is, or NotFound if empty.
    function firstValid(uint256[] calldata licenceIds, uint256 datasetId, address holder)
        external
        view
        returns (uint256 licenceId, Validity reason)
    {
        reason = Validity.NotFound;
        for (uint256 i; i < licenceIds.length; ++i) {
            reason = _validity(licenceIds[i], datasetId, holder);
            if (reason == Validity.Valid) return (licenceIds[i], reason);
        }
    }

    /// @notice The escrow of a licence (all zero for a granted one). Reverts with `ERC721NonexistentToken` for an
    /// unknown id.
    function saleOf(uint256 licenceId) external view returns (SaleInfo memory info) {
        _requireOwned(licenceId);
        Sale memory sale = _sales[licenceId];
        info.paymentToken = _saleToken[licenceId];
        info.amount = sale.amount;
        info.released = sale.released;
        info.startedAt = sale.startedAt;
        if (sale.amount != 0) info.vestsAt = _vestsAt(sale, licenceId);
        if (!sale.revoked) info.releasable = _vested(sale, licenceId) - sale.released;
    }

    /// @notice The terms and state of a licence. Reverts with `ERC721NonexistentToken` for an unknown id.
    function licenceOf(uint256 licenceId) external view returns (LicenceInfo memory) {
        address holder = _requireOwned(licenceId);
        LicenceId.Fields memory f = LicenceId.decode(licenceId);
        return LicenceInfo({
            serial: f.serial,
            datasetId: f.datasetId,
            holder: holder,
            expiresAt: f.expiresAt,
            maxJobs: f.maxJobs,
            epsilonBudgetMilli: f.epsilonBudgetMilli,
            revoked: _sales[licenceId].revoked,
            granted: f.granted
        });
    }

    /// @notice ETH owed to `account` and not yet withdrawn.
    function owedEth(address account) external view returns (uint256) {
        uint256 credit = _ethCredit[account];
        return credit == 0 ? 0 : credit - 1;
    }

    /// @notice `token` owed to `account` and not yet withdrawn.
    function owedToken(address token, address account) external view returns (uint256) {
        return _tokenCredit[token][account];
    }

    /// @notice Accrued protocol fees in `token` (zero address: ETH) not yet paid to the treasury.
    function accruedFees(address token) external view returns (uint256) {
        return token == address(0) ? _counters.ethFees : _tokenFees[token];
    }

    /// @notice The protocol fee in basis points.
    function feeBps() external view returns (uint16) {
        return _feeConfig.feeBps;
    }

    /// @notice The account that receives protocol fees.
    function treasury() external view returns (address) {
        return _feeConfig.treasury;
    }

    /// @notice How many licences were issued (the serial of the latest; 0 before the first).
    function licenceCount() external view returns (uint256) {
        return _counters.lastSerial;
    }

    /// @notice ERC-2981: resales of a licence pay the royalty of its dataset to the dataset's current owner.
    function royaltyInfo(uint256 licenceId, uint256 salePrice)
        external
        view
        returns (address receiver, uint256 royaltyAmount)
    {
        _requireOwned(licenceId);
        return datasets.royaltyInfo(LicenceId.datasetId(licenceId), salePrice);
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC721, AccessControl, IERC165)
        returns (bool)
    {
        return interfaceId == type(IERC2981).interfaceId || super.supportsInterface(interfaceId);
    }

    /// @dev Refuses plain ETH: value enters only through `purchase`, so balance == escrow + owed + fees holds.
    receive() external payable {
        revert UnexpectedEth();
    }

    /// @dev The single transfer hook: a revoked licence stays with its holder (minting and burning are not
    /// affected; the contract never burns).
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        if (auth != address(0) || _ownerOf(tokenId) != address(0)) {
            if (_sales[tokenId].revoked) revert RevokedLicenceNotTransferable(tokenId);
        }
        return super._update(to, tokenId, auth);
    }

    /// @dev Adds `amount` of `token` (zero address: ETH) to what `account` may withdraw.
    function _credit(address token, address account, uint256 amount) private {
        if (token == address(0)) {
            uint256 credit = _ethCredit[account];
            _ethCredit[account] = (credit == 0 ? 1 : credit) + amount;
        } else {
            _tokenCredit[token][account] += amount;
        }
    }

    /// @dev When all of a sale's escrow has vested: the licence's expiry, or `PERPETUAL_VESTING` after issue.
    function _vestsAt(Sale memory sale, uint256 licenceId) private pure returns (uint64) {
        uint64 expiresAt = LicenceId.expiresAt(licenceId);
        return expiresAt != 0 ? expiresAt : uint64(sale.startedAt) + PERPETUAL_VESTING;
    }

    /// @dev The share of `sale.amount` earned by now, linear in time from issue to `_vestsAt`, rounded down (so the
    /// remainder, refunded at revocation, rounds up in the holder's favour). Never more than `amount`.
    function _vested(Sale memory sale, uint256 licenceId) private view returns (uint256) {
        uint256 end = _vestsAt(sale, licenceId);
        if (block.timestamp >= end) return sale.amount;
        uint256 start = sale.startedAt;
        // A sale is issued at `startedAt` and `end > startedAt` (durations are at least 1 s), so start <= now < end.
        return (uint256(sale.amount) * (block.timestamp - start)) / (end - start);
    }

    function _issue(
        uint56 serial,
        uint256 datasetId,
        address to,
        uint64 duration,
        uint32 maxJobs,
        uint32 epsilonBudgetMilli,
        bool granted
    ) private returns (uint256 licenceId, uint64 expiresAt) {
        // DatasetNFT ids are sequential from 1, so they fit in 64 bits; durations are capped at 2^40 s there too.
        if (datasetId > type(uint64).max) revert DatasetIdTooLarge(datasetId);
        expiresAt = duration == 0 ? 0 : uint64(block.timestamp) + duration;
        licenceId = LicenceId.encode(
            LicenceId.Fields({
                serial: serial,
                datasetId: uint64(datasetId),
                expiresAt: expiresAt,
                maxJobs: maxJobs,
                epsilonBudgetMilli: epsilonBudgetMilli,
                granted: granted
            })
        );
        _mint(to, licenceId);
    }

    function _validity(uint256 licenceId, uint256 datasetId, address holder) private view returns (Validity) {
        address current = _ownerOf(licenceId);
        if (current == address(0)) return Validity.NotFound;
        if (LicenceId.datasetId(licenceId) != datasetId) return Validity.WrongDataset;
        if (current != holder) return Validity.NotHolder;
        if (_sales[licenceId].revoked) return Validity.Revoked;
        uint64 expiresAt = LicenceId.expiresAt(licenceId);
        if (expiresAt != 0 && block.timestamp >= expiresAt) return Validity.Expired;
        return Validity.Valid;
    }

    function _checkDatasetOwner(uint256 datasetId) private view {
        if (datasets.ownerOf(datasetId) != msg.sender) revert NotDatasetOwner(datasetId, msg.sender);
    }
}
